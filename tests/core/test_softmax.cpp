// softmax and log_softmax: against a naive double-precision softmax along every axis (also of a
// transposed input), stability on huge logits, gradients along axis 0 and -1, errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "support/grad_check.h"
#include "support/reference.h"

using namespace qgrad;
using testing::full_jacobian_check;
using testing::grad_check;
using testing::param;

namespace {

// Naive softmax (or log_softmax) of x along axis, in double, row-major over x's shape.
std::vector<double> ref_softmax(const Tensor& x, int64_t axis, bool log) {
  std::vector<double> xv = testing::values(x), out(xv.size());
  for (const auto& group : testing::reduction_groups(x.shape(), {axis})) {
    double m = -INFINITY, s = 0;
    for (int64_t i : group) m = std::max(m, xv[i]);
    for (int64_t i : group) s += std::exp(xv[i] - m);
    for (int64_t i : group) out[i] = log ? xv[i] - m - std::log(s) : std::exp(xv[i] - m) / s;
  }
  return out;
}

void check_against_reference(const Tensor& x, int64_t axis) {
  INFO("axis " << axis << ", shape " << shape_str(x.shape()) << ", contiguous " << x.is_contiguous());
  for (bool log : {false, true}) {
    Tensor y = log ? log_softmax(x, axis) : softmax(x, axis);
    REQUIRE(y.shape() == x.shape());
    std::vector<float> got = y.to_vector();
    std::vector<double> want = ref_softmax(x, axis, log);
    for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(1e-5).margin(1e-6));
  }
}

}  // namespace

TEST_CASE("softmax: matches a naive softmax along every axis", "[core]") {
  Generator gen(21);
  Tensor x = mul(randn({3, 4, 5}, gen), 3.f);
  Tensor xt = mul(randn({5, 4, 3}, gen), 3.f).transpose(0, 2);
  REQUIRE_FALSE(xt.is_contiguous());
  for (int64_t axis : {0, 1, 2, -1, -2, -3}) {
    check_against_reference(x, axis);
    check_against_reference(xt, axis);
  }
  check_against_reference(randn({7}, gen), 0);
  // Large enough for the kernels' OpenMP path.
  Tensor big = randn({256, 160}, gen);
  check_against_reference(big, -1);
  check_against_reference(big, 0);
}

TEST_CASE("softmax: rows sum to one", "[core]") {
  Generator gen(22);
  Tensor x = randn({4, 6}, gen);
  for (float s : sum(softmax(x, 1), {1}).to_vector()) CHECK(s == Approx(1.0f));
  for (float s : sum(softmax(x, 0), {0}).to_vector()) CHECK(s == Approx(1.0f));
}

TEST_CASE("softmax: huge logits stay finite", "[core]") {
  Tensor x = from_vector<float>({1000, -1000, 999, 0,  //
                                 -1000, -1000, -1001, -999},
                                {2, 4});
  std::vector<float> s = softmax(x, -1).to_vector();
  for (float v : s) CHECK(std::isfinite(v));
  for (int r = 0; r < 2; ++r) CHECK(s[4 * r] + s[4 * r + 1] + s[4 * r + 2] + s[4 * r + 3] == Approx(1.0f));
  const double e1 = std::exp(-1.0);
  CHECK(s[0] == Approx(1 / (1 + e1)));
  CHECK(s[2] == Approx(e1 / (1 + e1)));
  CHECK(s[1] == 0.0f);
  std::vector<float> l = log_softmax(x, -1).to_vector();
  for (float v : l) CHECK(std::isfinite(v));
  CHECK(l[0] == Approx(-std::log1p(e1)));
  CHECK(l[1] == Approx(-2000 - std::log1p(e1)));
  std::vector<double> want = ref_softmax(x, -1, true);
  for (size_t i = 0; i < want.size(); ++i) CHECK(l[i] == Approx(want[i]).epsilon(1e-6));

  // The gradient through huge logits is finite too.
  Tensor p = x.clone().requires_grad_();
  sum(mul(log_softmax(p, 1), from_vector<float>({1, 2, 3, 4, 4, 3, 2, 1}, {2, 4}))).backward();
  for (float v : p.grad().to_vector()) CHECK(std::isfinite(v));
}

TEST_CASE("softmax: gradients along axis 0 and -1", "[grad]") {
  for (bool log : {false, true}) {
    INFO((log ? "log_softmax" : "softmax"));
    auto op = [log](const Tensor& t, int64_t axis) { return log ? log_softmax(t, axis) : softmax(t, axis); };
    for (int64_t axis : {0, -1, 1}) {
      INFO("axis " << axis);
      grad_check([&](const std::vector<Tensor>& in) { return op(in[0], axis); }, {param({3, 4, 5}, 31)});
      grad_check([&](const std::vector<Tensor>& in) { return op(in[0].transpose(0, 2), axis); },
                 {param({5, 4, 3}, 32)});
    }
    full_jacobian_check([&](const std::vector<Tensor>& in) { return op(in[0], 0); }, {param({3, 2}, 33)});
    full_jacobian_check([&](const std::vector<Tensor>& in) { return op(in[0], -1); }, {param({2, 3}, 34)});
    full_jacobian_check([&](const std::vector<Tensor>& in) { return op(in[0].t(), -1); }, {param({3, 2}, 35)});
  }
}

TEST_CASE("softmax: errors name the op and the problem", "[core]") {
  Tensor x = randn({2, 3});
  CHECK_THROWS_WITH(softmax(x, 2), Catch::Contains("qgrad::softmax") && Catch::Contains("axis 2 is out of range"));
  CHECK_THROWS_WITH(log_softmax(x, -3),
                    Catch::Contains("qgrad::log_softmax") && Catch::Contains("axis -3 is out of range"));
  Tensor i32 = from_vector<int32_t>({1, 2}, {2});
  CHECK_THROWS_WITH(softmax(i32), Catch::Contains("qgrad::softmax") && Catch::Contains("expects float32") &&
                                      Catch::Contains("int32"));
  CHECK_THROWS_WITH(log_softmax(Tensor()), Catch::Contains("qgrad::log_softmax") && Catch::Contains("undefined"));
}
