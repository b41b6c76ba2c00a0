// The autograd engine: accumulation, reuse, broadcasting, detach, no-grad, and its errors.
#include <catch2/catch.hpp>

#include "support/grad_check.h"

using namespace qgrad;
using Catch::Contains;
using testing::grad_check;
using testing::param;
using In = std::vector<Tensor>;

TEST_CASE("a tensor used many times receives every contribution", "[grad]") {
  // f(x) = x*x + 3x + x  ->  f'(x) = 2x + 4
  Tensor x = from_vector({2.f, -1.f}, {2}).requires_grad_();
  Tensor y = sum(x * x + x * 3.f + x);
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{8.f, 2.f});
  // A diamond: b and c both depend on a.
  Tensor a = from_vector({1.5f}, {1}).requires_grad_();
  Tensor b = a * 2.f, c = a * a;
  (b * c).backward();  // d/da (2a * a^2) = 6a^2
  CHECK(a.grad().item() == Approx(6 * 1.5f * 1.5f));
}

TEST_CASE("gradients accumulate across backward calls until zero_grad", "[grad]") {
  Tensor x = from_vector({1.f, 2.f}, {2}).requires_grad_();
  sum(x * 3.f).backward();
  sum(x * 3.f).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{6.f, 6.f});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(x).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1.f, 1.f});
}

TEST_CASE("a broadcast input's gradient is reduced back to its shape", "[grad]") {
  Tensor bias = from_vector({1.f, 2.f, 3.f}, {3}).requires_grad_();
  Tensor x = ones({4, 3}).requires_grad_();
  sum(x + bias).backward();
  CHECK(bias.grad().shape() == Shape{3});
  CHECK(bias.grad().to_vector() == std::vector<float>{4.f, 4.f, 4.f});
  Tensor s = from_vector({2.f}, {1, 1}).requires_grad_();
  sum(x * s).backward();
  CHECK(s.grad().shape() == Shape{1, 1});
  CHECK(s.grad().item() == 12.f);
}

TEST_CASE("leaves that share one upstream gradient get separate buffers", "[grad]") {
  Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  sum(a + b).backward();
  CHECK(a.grad().storage() != b.grad().storage());
  a.grad().fill_(7.f);
  CHECK(b.grad().to_vector() == std::vector<float>{1.f, 1.f});
}

TEST_CASE("detach and NoGradGuard cut the graph", "[grad]") {
  Tensor x = from_vector({3.f}, {1}).requires_grad_();
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() == x.storage());
  Tensor y = x * d;  // d is a constant: dy/dx = d = 3
  y.backward();
  CHECK(x.grad().item() == 3.f);
  {
    NoGradGuard no_grad;
    Tensor z = x * x;
    CHECK_FALSE(z.requires_grad());
    CHECK(z.grad_fn() == nullptr);
    CHECK_FALSE(grad_mode_enabled());
  }
  CHECK(grad_mode_enabled());
  CHECK((x * x).grad_fn() != nullptr);
  CHECK((x * x).grad_fn()->name == "mul");
}

TEST_CASE("non-leaf tensors do not keep .grad; backward(grad) takes a cotangent", "[grad]") {
  Tensor x = from_vector({1.f, 2.f, 3.f}, {3}).requires_grad_();
  Tensor h = x * 2.f;
  Tensor y = h * h;  // dy_i/dx_i = 8 x_i
  y.backward(from_vector({1.f, 0.f, -1.f}, {3}));
  CHECK(x.grad().to_vector() == std::vector<float>{8.f, 0.f, -24.f});
  CHECK_FALSE(h.grad().defined());
  CHECK_FALSE(h.is_leaf());
  CHECK(x.is_leaf());
}

TEST_CASE("a deep chain does not overflow the stack", "[grad]") {
  Tensor x = from_vector({1.f}, {1}).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y + 0.f;
  y.backward();
  CHECK(x.grad().item() == 1.f);
}

TEST_CASE("autograd errors explain the misuse", "[grad]") {
  Tensor x = from_vector({1.f, 2.f}, {2}).requires_grad_();
  CHECK_THROWS_WITH((x * 2.f).backward(), Contains("only be implied for a one-element output; pass grad explicitly for shape [2]"));
  CHECK_THROWS_WITH(sum(x).backward(ones({3})), Contains("gradient shape [3] differs from output shape []"));
  CHECK_THROWS_WITH(ones({1}).backward(), Contains("does not require grad"));
  CHECK_THROWS_WITH(ones({2}, DType::Int8).requires_grad_(), Contains("only float32 tensors can require grad, this one is int8"));
  CHECK_THROWS_WITH((x * 2.f).requires_grad_(), Contains("can only be set on leaf tensors (this one was made by 'mul_scalar')"));
  CHECK_THROWS_WITH(x.set_grad(ones({3})), Contains("gradient shape [3] differs from tensor shape [2]"));
}

TEST_CASE("sum and mean gradients broadcast back over the reduced axes", "[grad]") {
  Tensor x = param({2, 3, 4}, 41);
  grad_check([](const In& in) { return sum(in[0], {1}); }, {x});
  grad_check([](const In& in) { return sum(in[0], {0, 2}, true); }, {x});
  grad_check([](const In& in) { return mean(in[0], {-1}); }, {x});
  grad_check([](const In& in) { return mean(in[0].transpose(0, 2)); }, {x});
}
