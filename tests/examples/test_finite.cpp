// examples/common/finite.h (over nn::first_non_finite): the NaN/inf checks that stop a diverged training run and keep its
// weights out of checkpoints, evaluate and the quantization programs (load_float_model).
#include <catch2/catch.hpp>

#include <cmath>

#include "examples/common/finite.h"
#include "examples/common/models.h"
#include "examples/common/quantization.h"
#include "qgrad.h"
#include "data/data_files.h"

using namespace qgrad;

TEST_CASE("nn::first_non_finite: the index of the first NaN or infinity", "[examples]") {
  CHECK(nn::first_non_finite(from_vector({1.f, -2.f, 3.f}, {3})) == -1);
  CHECK(nn::first_non_finite(from_vector({1.f, NAN, INFINITY}, {3})) == 1);
  CHECK(nn::first_non_finite(from_vector({1.f, 2.f, -INFINITY, 0.f}, {2, 2})) == 2);
}

TEST_CASE("require_finite: names the file, the tensor and the index", "[examples]") {
  nn::StateDict sd{{"fc.weight", from_vector({0.5f, 1.f}, {2})}, {"fc.bias", from_vector({0.f, NAN}, {2})}};
  CHECK_THROWS_WITH(examples::require_finite(sd, "m.safetensors"),
                    Catch::Contains("m.safetensors: tensor 'fc.bias' holds a non-finite value (nan at index 1)"));
  sd["fc.bias"] = from_vector({0.f, 1.f}, {2});
  CHECK_NOTHROW(examples::require_finite(sd, "m.safetensors"));
}

TEST_CASE("require_finite_step: a non-finite loss or gradient stops training, naming the step", "[examples]") {
  auto model = examples::make_model("mlp", 0);
  Tensor x = from_vector(std::vector<float>(2 * 784, 0.5f), {2, 1, 28, 28});
  Tensor loss = nn::CrossEntropyLoss()((*model)(x), from_vector<int32_t>({3, 7}, {2}));
  loss.backward();
  CHECK_NOTHROW(examples::require_finite_step(loss, *model, 1, 0));
  // A gradient with an infinity (what a diverging run produces a step before the loss).
  const auto [name, p] = model->named_parameters().front();
  p.grad().detach().fill_(INFINITY);
  CHECK_THROWS_WITH(examples::require_finite_step(loss, *model, 2, 4),
                    Catch::Contains("epoch 2 step 5: the gradient of '" + name + "' holds a non-finite value") &&
                        Catch::Contains("lower --lr"));
  CHECK_THROWS_WITH(examples::require_finite_step(from_vector({NAN}, {}), *model, 3, 0),
                    Catch::Contains("epoch 3 step 1: the loss is nan"));
}

TEST_CASE("save_training_checkpoint and load_float_model refuse NaN weights", "[examples]") {
  testing::TempDir dir;
  auto model = examples::make_model("mlp", 0);
  optim::SGD opt(model->parameters(), {.lr = 0.1f});
  const std::string good = (dir / "good.safetensors"), bad = (dir / "bad.safetensors");
  examples::save_training_checkpoint(good, *model, opt, 1, "mlp");
  CHECK(examples::load_float_model(good).arch == "mlp");

  const auto [name, p] = model->named_parameters().back();
  p.detach().fill_(NAN);
  CHECK_THROWS_WITH(examples::save_training_checkpoint(bad, *model, opt, 2, "mlp"),
                    Catch::Contains("the model after epoch 2 (not saved to " + bad + ")") &&
                        Catch::Contains("'" + name + "' holds a non-finite value"));
  CHECK_FALSE(std::filesystem::exists(bad));
  // Written around the check (as a diverged run did before it): ptq, qat and the other programs
  // that load a float model refuse it, naming the file and the tensor.
  nn::save_checkpoint(bad, *model, &opt, {.epoch = 2}, {{"arch", "mlp"}});
  CHECK_THROWS_WITH(examples::load_float_model(bad),
                    Catch::Contains(bad + ": tensor '" + name + "' holds a non-finite value"));
}
