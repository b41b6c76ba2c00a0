// Activations: values against their textbook definitions (in double), gradients by central
// differences, numerical safety at large |x|.
#include <catch2/catch.hpp>

#include <cmath>

#include "support/grad_check.h"

using namespace qgrad;
using Catch::Contains;
using testing::full_jacobian_check;
using testing::grad_check;
using testing::param;
using In = std::vector<Tensor>;

TEST_CASE("activations match their definitions", "[core]") {
  Tensor x = from_vector({-3.f, -1.f, -0.25f, 0.f, 0.5f, 2.f, 4.f}, {7});
  auto check_each = [&](const Tensor& y, auto f) {
    std::vector<float> in = x.to_vector(), out = y.to_vector();
    for (size_t i = 0; i < in.size(); ++i) CHECK(out[i] == Approx(f(double(in[i]))).margin(1e-6));
  };
  check_each(relu(x), [](double v) { return v > 0 ? v : 0; });
  check_each(leaky_relu(x, 0.1f), [](double v) { return v > 0 ? v : 0.1 * v; });
  check_each(sigmoid(x), [](double v) { return 1 / (1 + std::exp(-v)); });
  check_each(tanh(x), [](double v) { return std::tanh(v); });
  check_each(gelu(x), [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); });
}

TEST_CASE("sigmoid stays finite and exact at extreme inputs", "[core]") {
  Tensor y = sigmoid(from_vector({-1000.f, 1000.f, -90.f}, {3}));
  std::vector<float> v = y.to_vector();
  CHECK(v[0] == 0.f);
  CHECK(v[1] == 1.f);
  CHECK(std::isfinite(v[2]));
  CHECK(v[2] > 0.f);
}

TEST_CASE("activation gradients", "[grad]") {
  // Keep relu-style kinks away from the finite-difference stencil.
  Generator g(31);
  Tensor x = randn({4, 5}, g);
  x = add(x, mul(gt(x, 0.f), 0.1f) - 0.05f).detach().requires_grad_();
  grad_check([](const In& in) { return relu(in[0]); }, {x});
  grad_check([](const In& in) { return leaky_relu(in[0], 0.2f); }, {x});
  grad_check([](const In& in) { return sigmoid(in[0]); }, {x});
  grad_check([](const In& in) { return tanh(in[0]); }, {x});
  grad_check([](const In& in) { return gelu(in[0]); }, {x});
  full_jacobian_check([](const In& in) { return gelu(in[0].t()); }, {param({2, 3}, 32)});
  full_jacobian_check([](const In& in) { return sigmoid(tanh(in[0])); }, {param({2, 2}, 33)});
}

TEST_CASE("activations reject non-float input", "[core]") {
  CHECK_THROWS_WITH(relu(ones({3}, DType::Int8)), Contains("relu: expects float32 tensors, got int8"));
  CHECK_THROWS_WITH(gelu(ones({3}, DType::Int32)), Contains("gelu: expects float32 tensors, got int32"));
}
