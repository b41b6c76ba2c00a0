// Elementwise ops: forward against std:: math on each element (an independent computation),
// broadcasting, gradients (central differences in double), and dtype/shape errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "support/grad_check.h"

using namespace qgrad;
using Catch::Contains;
using testing::full_jacobian_check;
using testing::grad_check;
using testing::param;

namespace {

// Positive values away from zero, for log/sqrt/pow/div.
Tensor positive(const Shape& s, uint64_t seed) {
  Generator g(seed);
  return add(mul(rand(s, g), 2.f), 0.5f).requires_grad_();
}

using In = std::vector<Tensor>;

}  // namespace

TEST_CASE("binary ops broadcast like NumPy", "[core]") {
  Tensor a = from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor row = from_vector({10.f, 20.f, 30.f}, {3});
  Tensor col = from_vector({100.f, 200.f}, {2, 1});
  CHECK(add(a, row).to_vector() == std::vector<float>{11, 22, 33, 14, 25, 36});
  CHECK(add(a, col).to_vector() == std::vector<float>{101, 102, 103, 204, 205, 206});
  CHECK(add(row, col).shape() == Shape{2, 3});
  CHECK(sub(row, a).to_vector() == std::vector<float>{9, 18, 27, 6, 15, 24});
  CHECK(mul(a, scalar_tensor(2.f)).to_vector() == std::vector<float>{2, 4, 6, 8, 10, 12});
  CHECK(div(a, col).to_vector()[5] == 6.f / 200.f);
  CHECK(maximum(a, from_vector({3.f}, {1})).to_vector() == std::vector<float>{3, 3, 3, 4, 5, 6});
  CHECK(minimum(a, row).to_vector() == a.to_vector());
  CHECK(pow(a, from_vector({2.f}, {1})).to_vector() == std::vector<float>{1, 4, 9, 16, 25, 36});
  CHECK((a * 2.f - 1.f).to_vector() == std::vector<float>{1, 3, 5, 7, 9, 11});
  CHECK((1.f - a).to_vector() == std::vector<float>{0, -1, -2, -3, -4, -5});
  CHECK((6.f / a).to_vector()[2] == 2.f);
  CHECK((a / 4.f).to_vector()[1] == 0.5f);
  CHECK(gt(a, row / 10.f).to_vector() == std::vector<float>{0, 0, 0, 1, 1, 1});
  CHECK(le(a, col / 50.f).to_vector() == std::vector<float>{1, 1, 0, 1, 0, 0});
  CHECK(eq(a, a.t().t()).to_vector() == std::vector<float>(6, 1.f));
  CHECK(ge(a, 4.f * ones({1})).to_vector() == std::vector<float>{0, 0, 0, 1, 1, 1});
  CHECK(lt(a, 3.f).to_vector() == std::vector<float>{1, 1, 0, 0, 0, 0});
}

TEST_CASE("unary ops match std:: math element by element", "[core]") {
  Generator g(3);
  Tensor x = randn({257}, g);  // odd size: no lucky alignment
  Tensor p = add(rand({257}, g), 0.1f);
  auto each = [](const Tensor& in, const Tensor& out, auto f) {
    std::vector<float> a = in.to_vector(), b = out.to_vector();
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(b[i] == Approx(f(a[i])).margin(1e-6));
  };
  each(x, neg(x), [](float v) { return -v; });
  each(x, exp(x), [](float v) { return std::exp(v); });
  each(p, log(p), [](float v) { return std::log(v); });
  each(p, sqrt(p), [](float v) { return std::sqrt(v); });
  each(x, abs(x), [](float v) { return std::fabs(v); });
  each(p, pow(p, 1.5f), [](float v) { return std::pow(v, 1.5f); });
  each(x, clamp(x, -0.5f, 0.7f), [](float v) { return std::min(std::max(v, -0.5f), 0.7f); });
  Tensor cond = gt(x, 0.f);
  each(x, where(cond, x, mul(x, 10.f)), [](float v) { return v > 0 ? v : 10 * v; });
}

TEST_CASE("elementwise ops reject wrong dtypes and incompatible shapes", "[core]") {
  Tensor f = ones({2, 3});
  CHECK_THROWS_WITH(add(f, ones({4})), Contains("add: shapes [2, 3] and [4] cannot be broadcast"));
  CHECK_THROWS_WITH(mul(f, ones({3, 3})), Contains("mul: shapes [2, 3] and [3, 3]"));
  CHECK_THROWS_WITH(add(f, ones({2, 3}, DType::Int8)), Contains("add: expects float32 tensors, got int8"));
  CHECK_THROWS_WITH(exp(ones({2}, DType::UInt8)), Contains("exp: expects float32 tensors, got uint8"));
  CHECK_THROWS_WITH(clamp(f, 1.f, 0.f), Contains("lower bound 1 is above upper bound 0"));
  CHECK_THROWS_WITH(where(ones({5}), f, f), Contains("where: shapes [5] and [2, 3] cannot be broadcast"));
}

TEST_CASE("gradients of binary ops, with broadcasting and strided inputs", "[grad]") {
  Tensor a = param({3, 4}, 1), row = param({4}, 2), col = param({3, 1}, 3);
  Tensor pa = positive({3, 4}, 4), prow = positive({4}, 5);
  grad_check([](const In& in) { return add(in[0], in[1]); }, {a, row});
  grad_check([](const In& in) { return sub(in[0], in[1]); }, {a, col});
  grad_check([](const In& in) { return mul(in[0], in[1]); }, {a, col});
  grad_check([](const In& in) { return div(in[0], in[1]); }, {a, prow});
  grad_check([](const In& in) { return pow(in[0], in[1]); }, {pa, prow});
  grad_check([](const In& in) { return maximum(in[0], in[1]); }, {a, row});
  grad_check([](const In& in) { return minimum(in[0], in[1]); }, {a, col});
  // Strided (transposed) operands.
  Tensor big = param({4, 3}, 6);
  grad_check([](const In& in) { return mul(in[0].t(), in[1]); }, {big, a});
  // Scalar forms.
  grad_check([](const In& in) { return in[0] * 3.f + 2.f; }, {a});
  grad_check([](const In& in) { return 2.f / in[0] - in[0] / 4.f; }, {pa});
  grad_check([](const In& in) { return 1.f - in[0]; }, {a});
  full_jacobian_check([](const In& in) { return mul(add(in[0], in[1]), in[0]); }, {param({2, 3}, 7), param({3}, 8)});
}

TEST_CASE("gradients of unary ops", "[grad]") {
  Tensor x = param({5, 3}, 21), p = positive({5, 3}, 22);
  grad_check([](const In& in) { return neg(in[0]); }, {x});
  grad_check([](const In& in) { return exp(in[0]); }, {x});
  grad_check([](const In& in) { return log(in[0]); }, {p});
  grad_check([](const In& in) { return sqrt(in[0]); }, {p});
  grad_check([](const In& in) { return abs(in[0]); }, {x});
  grad_check([](const In& in) { return pow(in[0], 3.f); }, {x});
  grad_check([](const In& in) { return pow(in[0], -0.5f); }, {p});
  grad_check([](const In& in) { return clamp(in[0], -0.5f, 0.5f); }, {x});
  Tensor mask = gt(randn({5, 3}), 0.f);
  grad_check([mask](const In& in) { return where(mask, in[0], mul(in[1], 2.f)); }, {x, param({3}, 23)});
  full_jacobian_check([](const In& in) { return exp(in[0].t()); }, {param({2, 3}, 24)});
}

TEST_CASE("ties in maximum split the gradient evenly", "[grad]") {
  Tensor x = from_vector({1.f, 2.f, 3.f}, {3}).requires_grad_();
  sum(maximum(x, x)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1, 1, 1});
  Tensor a = from_vector({2.f}, {1}).requires_grad_(), b = from_vector({2.f}, {1}).requires_grad_();
  sum(maximum(a, b)).backward();
  CHECK(a.grad().item() == 0.5f);
  CHECK(b.grad().item() == 0.5f);
}

TEST_CASE("clamp passes the gradient inside the range, boundaries included", "[grad]") {
  Tensor x = from_vector({-2.f, -1.f, 0.f, 1.f, 2.f}, {5}).requires_grad_();
  sum(clamp(x, -1.f, 1.f)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{0, 1, 1, 1, 0});
}
