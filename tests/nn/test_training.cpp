// End to end on a toy problem: a 2-layer MLP learns XOR with SGD (momentum) and with Adam,
// deterministically, in a few hundred full-batch steps.
#include <catch2/catch.hpp>

#include "nn_test_util.h"

using namespace qgrad;

namespace {

struct XorData {
  Tensor x = from_vector<float>({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  Tensor y = from_vector<int32_t>({0, 1, 1, 0}, {4});
};

std::shared_ptr<nn::Sequential> make_mlp(Generator& gen) {
  return std::make_shared<nn::Sequential>(nn::Linear({.in = 2, .out = 16}, gen), nn::Tanh(),
                                          nn::Linear({.in = 16, .out = 2}, gen));
}

// Trains for `steps` full-batch steps; returns the final loss and accuracy.
std::pair<float, float> fit(nn::Module& model, optim::Optimizer& opt, int steps) {
  XorData d;
  nn::CrossEntropyLoss criterion;
  float last = 0.f;
  for (int s = 0; s < steps; ++s) {
    Tensor loss = criterion(model(d.x), d.y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    last = loss.item();
  }
  NoGradGuard no_grad;
  auto pred = argmax(model(d.x), 1).to_vector<int32_t>();
  auto want = d.y.to_vector<int32_t>();
  int correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == want[i];
  return {last, float(correct) / float(pred.size())};
}

}  // namespace

TEST_CASE("training: an MLP learns XOR with SGD + momentum", "[nn]") {
  Generator gen(2024);
  auto model = make_mlp(gen);
  optim::SGD opt(model->parameters(), {.lr = 0.1f, .momentum = 0.9f});
  auto [loss, acc] = fit(*model, opt, 300);
  CHECK(acc == 1.f);
  CHECK(loss < 0.05f);
}

TEST_CASE("training: an MLP learns XOR with Adam, identically on a rerun", "[nn]") {
  std::vector<float> finals;
  for (int run = 0; run < 2; ++run) {
    Generator gen(7);
    auto model = make_mlp(gen);
    optim::Adam opt(model->parameters(), {.lr = 0.05f});
    auto [loss, acc] = fit(*model, opt, 300);
    CHECK(acc == 1.f);
    CHECK(loss < 0.05f);
    finals.push_back(loss);
  }
  CHECK(finals[0] == finals[1]);
}
