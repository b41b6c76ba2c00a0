// Loss modules against naive formulas written here.
#include <catch2/catch.hpp>

#include <cmath>

#include "nn_test_util.h"
#include "support/grad_check.h"

using namespace qgrad;

TEST_CASE("CrossEntropyLoss: mean of -log softmax at the target", "[nn]") {
  const std::vector<float> logits{2.f, -1.f, 0.5f, 0.1f, 0.2f, 3.f};
  Tensor x = from_vector(logits, {2, 3});
  Tensor t = from_vector<int32_t>({0, 2}, {2});
  double want = 0;
  for (int n = 0; n < 2; ++n) {
    double z = 0;
    for (int c = 0; c < 3; ++c) z += std::exp(double(logits[n * 3 + c]));
    want += -(logits[n * 3 + (n == 0 ? 0 : 2)] - std::log(z)) / 2.0;
  }
  nn::CrossEntropyLoss criterion;
  CHECK(criterion(x, t).item() == Approx(want).epsilon(1e-6));
  testing::grad_check([&](const std::vector<Tensor>& in) { return criterion(in[0], t); },
                      {x.detach().clone().requires_grad_()});
}

TEST_CASE("MSELoss: mean squared difference", "[nn]") {
  Tensor a = from_vector<float>({1, 2, -3, 0.5f}, {2, 2});
  Tensor b = from_vector<float>({0, 2.5f, -1, 0.5f}, {2, 2});
  // (1 + 0.25 + 4 + 0) / 4
  CHECK(nn::MSELoss()(a, b).item() == Approx(5.25 / 4));
}
