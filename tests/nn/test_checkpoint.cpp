// Checkpoints: model + optimizer + training position in one safetensors file; resuming from
// one continues training exactly as if it had never stopped.
#include <catch2/catch.hpp>

#include "nn_test_util.h"

using namespace qgrad;
using testing::ScaleModule;
using testing::TempDir;

namespace {

std::shared_ptr<nn::Sequential> make_model() {
  return std::make_shared<nn::Sequential>(nn::BatchNorm1d({.features = 3}), nn::Tanh(),
                                          std::make_shared<ScaleModule>(3));
}

// A few steps of regression towards a fixed target, with batches drawn from `gen`.
void train(nn::Module& model, optim::Optimizer& opt, Generator& gen, int steps) {
  const Tensor target = from_vector<float>({0.5f, -1.f, 2.f}, {1, 3});
  for (int s = 0; s < steps; ++s) {
    Tensor x = randn({8, 3}, gen);
    Tensor loss = mse_loss(model(x), target.expand({8, 3}));
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
}

}  // namespace

TEST_CASE("checkpoint: resume reproduces uninterrupted training exactly", "[nn]") {
  TempDir dir;
  const std::string path = dir / "run.safetensors";

  auto straight = make_model();
  optim::Adam opt_straight(straight->parameters(), {.lr = 0.05f});
  Generator gen_straight(5);
  train(*straight, opt_straight, gen_straight, 6);

  auto first = make_model();
  optim::Adam opt_first(first->parameters(), {.lr = 0.05f});
  Generator gen(5);
  train(*first, opt_first, gen, 3);
  nn::save_checkpoint(path, *first, &opt_first, {.epoch = 1, .step = 3}, {{"arch", "toy"}});

  auto resumed = make_model();
  optim::Adam opt_resumed(resumed->parameters(), {.lr = 1.f});
  nn::Checkpoint ck = nn::load_checkpoint(path, *resumed, &opt_resumed);
  CHECK(ck.training.epoch == 1);
  CHECK(ck.training.step == 3);
  CHECK(ck.metadata.at("arch") == "toy");
  CHECK(ck.metadata.at("qgrad.architecture") == first->repr());
  CHECK(opt_resumed.lr() == 0.05f);
  train(*resumed, opt_resumed, gen, 3);

  auto a = straight->state_dict(), b = resumed->state_dict();
  for (const auto& [name, t] : a) {
    INFO(name);
    if (t.dtype() == DType::Float32)
      CHECK(b.at(name).to_vector() == t.to_vector());
    else
      CHECK(b.at(name).to_vector<int32_t>() == t.to_vector<int32_t>());
  }
}

TEST_CASE("checkpoint: file contents, inspection without a model, and errors", "[nn]") {
  TempDir dir;
  const std::string path = dir / "m.safetensors";
  auto model = make_model();
  nn::save_checkpoint(path, *model, nullptr, {.epoch = 7});

  // The model tensors are stored under their own names: a plain weights file.
  nn::SafeTensors raw = nn::load_safetensors(path);
  CHECK(raw.tensors.count("0.weight") == 1);
  CHECK(raw.tensors.count("2.inner.scale") == 1);
  CHECK(raw.metadata.at("qgrad.epoch") == "7");

  nn::Checkpoint ck = nn::read_checkpoint(path);
  CHECK(ck.optimizer.empty());
  CHECK(ck.model.size() == model->state_dict().size());

  optim::SGD sgd(model->parameters(), {.lr = 0.1f});
  CHECK_THROWS_WITH(nn::load_checkpoint(path, *model, &sgd),
                    Catch::Contains(path) && Catch::Contains("holds no optimizer state"));

  auto other = std::make_shared<nn::Sequential>(nn::BatchNorm1d({.features = 4}));
  CHECK_THROWS_WITH(nn::load_checkpoint(path, *other),
                    Catch::Contains("tensor '0.weight' has shape [3] but the destination expects [4]"));

  CHECK_THROWS_WITH(nn::save_checkpoint(path, *model, nullptr, {}, {{"qgrad.epoch", "1"}}),
                    Catch::Contains("metadata key 'qgrad.epoch' uses the reserved prefix 'qgrad.'"));

  const std::string plain = dir / "plain.safetensors";
  nn::save_safetensors(plain, model->state_dict());
  CHECK_THROWS_WITH(nn::read_checkpoint(plain),
                    Catch::Contains("not a qgrad checkpoint (metadata 'qgrad.format' is missing"));
}
