// Reductions: sum, mean, max, min, var against a naive double-precision reduction; argmax;
// gradients (including the tie rule of max/min and the broadcast-back of sum/mean); errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "support/grad_check.h"
#include "support/reference.h"

using namespace qgrad;
using testing::distinct_param;
using testing::full_jacobian_check;
using testing::grad_check;
using testing::param;

namespace {

using Group = std::vector<double>;

double ref_sum(const Group& g) { return std::accumulate(g.begin(), g.end(), 0.0); }
double ref_mean(const Group& g) { return ref_sum(g) / static_cast<double>(g.size()); }
double ref_max(const Group& g) { return *std::max_element(g.begin(), g.end()); }
double ref_min(const Group& g) { return *std::min_element(g.begin(), g.end()); }
double ref_var(const Group& g, int64_t correction) {
  double m = ref_mean(g), s = 0;
  for (double v : g) s += (v - m) * (v - m);
  return s / static_cast<double>(static_cast<int64_t>(g.size()) - correction);
}

// The expected output shape of a reduction of `shape` over `axes`.
Shape reduced_shape(const Shape& shape, std::vector<int64_t> axes, bool keepdim) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  std::vector<bool> reduced(nd, axes.empty());
  for (int64_t a : axes) reduced[a < 0 ? a + nd : a] = true;
  Shape out;
  for (int64_t d = 0; d < nd; ++d) {
    if (!reduced[d]) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// Checks op(x, axes, keepdim) against ref applied to each group of the naive reduction.
void check_reduction(const std::function<Tensor(const Tensor&, const std::vector<int64_t>&, bool)>& op,
                     const std::function<double(const Group&)>& ref, const Tensor& x,
                     const std::vector<int64_t>& axes, bool keepdim) {
  INFO("axes size " << axes.size() << (axes.empty() ? "" : ", first " + std::to_string(axes[0]))
                    << ", keepdim " << keepdim << ", x shape " << shape_str(x.shape()));
  Tensor y = op(x, axes, keepdim);
  REQUIRE(y.shape() == reduced_shape(x.shape(), axes, keepdim));
  std::vector<double> xv = testing::values(x);
  std::vector<float> yv = y.to_vector();
  auto groups = testing::reduction_groups(x.shape(), axes);
  REQUIRE(yv.size() == groups.size());
  for (size_t o = 0; o < groups.size(); ++o) {
    Group g;
    for (int64_t i : groups[o]) g.push_back(xv[i]);
    CHECK(yv[o] == Approx(ref(g)).epsilon(1e-5).margin(1e-5));
  }
}

const std::vector<std::vector<int64_t>> kAxisSets = {{}, {0}, {1}, {2}, {-1}, {0, 2}, {-3, -1}, {2, 1}, {0, 1, 2}};

}  // namespace

TEST_CASE("reduce: sum, mean, max, min, var match a naive reduction", "[core]") {
  Generator gen(7);
  Tensor x = randn({3, 4, 5}, gen);
  Tensor xt = randn({5, 4, 3}, gen).transpose(0, 2);  // non-contiguous, shape [3, 4, 5]
  REQUIRE_FALSE(xt.is_contiguous());
  using Axes = std::vector<int64_t>;
  const std::vector<std::pair<std::function<Tensor(const Tensor&, const Axes&, bool)>,
                              std::function<double(const Group&)>>>
      ops = {
          {[](const Tensor& t, const Axes& a, bool k) { return sum(t, a, k); }, ref_sum},
          {[](const Tensor& t, const Axes& a, bool k) { return mean(t, a, k); }, ref_mean},
          {[](const Tensor& t, const Axes& a, bool k) { return max(t, a, k); }, ref_max},
          {[](const Tensor& t, const Axes& a, bool k) { return min(t, a, k); }, ref_min},
          {[](const Tensor& t, const Axes& a, bool k) { return var(t, a, k, 0); },
           [](const Group& g) { return ref_var(g, 0); }},
          {[](const Tensor& t, const Axes& a, bool k) { return var(t, a, k, 1); },
           [](const Group& g) { return ref_var(g, 1); }},
      };
  for (size_t k = 0; k < ops.size(); ++k) {
    INFO("op " << k);
    for (const auto& axes : kAxisSets)
      for (bool keepdim : {false, true}) {
        check_reduction(ops[k].first, ops[k].second, x, axes, keepdim);
        check_reduction(ops[k].first, ops[k].second, xt, axes, keepdim);
      }
  }
}

TEST_CASE("reduce: var keeps precision when the mean is large", "[core]") {
  // sum(x^2) - N mean^2 would lose every digit here; the two-pass form must not.
  Tensor x = from_vector<float>({10000.5f, 10001.5f, 10002.5f, 10003.5f}, {4});
  CHECK(var(x, {}, false, 1).item() == Approx(5.0 / 3.0).epsilon(1e-5));
  CHECK(var(x, {}, false, 0).item() == Approx(1.25).epsilon(1e-5));
}

TEST_CASE("reduce: argmax returns the first maximum as int32", "[core]") {
  Tensor x = from_vector<float>({1, 5, 5, -2,   //
                                 7, 0, 7, 7,    //
                                 -1, -3, -2, -4},
                                {3, 4});
  Tensor a = argmax(x, -1);
  REQUIRE(a.dtype() == DType::Int32);
  REQUIRE(a.shape() == Shape{3});
  CHECK(a.to_vector<int32_t>() == std::vector<int32_t>{1, 0, 0});
  CHECK(argmax(x, 0).to_vector<int32_t>() == std::vector<int32_t>{1, 0, 1, 1});
  Tensor ak = argmax(x, 1, /*keepdim=*/true);
  CHECK(ak.shape() == Shape{3, 1});
  // Non-contiguous input: argmax over axis 1 of x^T is argmax over axis 0 of x.
  CHECK(argmax(x.t(), 1).to_vector<int32_t>() == std::vector<int32_t>{1, 0, 1, 1});

  Generator gen(3);
  Tensor r = randn({4, 6, 5}, gen);
  std::vector<double> rv = testing::values(r);
  auto groups = testing::reduction_groups(r.shape(), {1});
  std::vector<int32_t> got = argmax(r, 1).to_vector<int32_t>();
  for (size_t o = 0; o < groups.size(); ++o) {
    int32_t best = 0;
    for (size_t j = 1; j < groups[o].size(); ++j)
      if (rv[groups[o][j]] > rv[groups[o][best]]) best = static_cast<int32_t>(j);
    CHECK(got[o] == best);
  }
  Tensor p = param({2, 3}, 1);
  CHECK_FALSE(argmax(p).requires_grad());
}

TEST_CASE("reduce: sum and mean broadcast the gradient back", "[grad]") {
  Tensor x = param({2, 3}, 5);
  sum(x, {1}).backward(from_vector<float>({1, 2}, {2}));
  CHECK(x.grad().to_vector() == std::vector<float>{1, 1, 1, 2, 2, 2});
  x.zero_grad();
  mean(x, {0}, /*keepdim=*/true).backward(from_vector<float>({3, 6, 9}, {1, 3}));
  CHECK(x.grad().to_vector() == std::vector<float>{1.5f, 3, 4.5f, 1.5f, 3, 4.5f});
  x.zero_grad();
  mean(x).backward();
  for (float v : x.grad().to_vector()) CHECK(v == Approx(1.0 / 6));
}

TEST_CASE("reduce: max and min split the gradient between ties", "[grad]") {
  Tensor x = from_vector<float>({1, 3, 3, 2, 2, 2, -1, 0, 4}, {3, 3}).requires_grad_();
  max(x, {1}).backward(from_vector<float>({1, 3, 2}, {3}));
  std::vector<float> g = x.grad().to_vector();
  std::vector<float> want{0, 0.5f, 0.5f, 1, 1, 1, 0, 0, 2};
  for (size_t i = 0; i < want.size(); ++i) CHECK(g[i] == Approx(want[i]));

  x.zero_grad();
  min(x, {1}).backward(from_vector<float>({3, 3, 3}, {3}));
  g = x.grad().to_vector();
  want = {3, 0, 0, 1, 1, 1, 3, 0, 0};
  for (size_t i = 0; i < want.size(); ++i) CHECK(g[i] == Approx(want[i]));

  // Over all axes: four elements tie for the maximum.
  Tensor y = from_vector<float>({5, 1, 5, 5, 0, 5}, {2, 3}).requires_grad_();
  max(y).backward();
  CHECK(y.grad().to_vector() == std::vector<float>{0.25f, 0, 0.25f, 0.25f, 0, 0.25f});
}

TEST_CASE("reduce: gradients of sum, mean, max, min, var", "[grad]") {
  using Axes = std::vector<int64_t>;
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&, const Axes&, bool)>>> ops = {
      {"sum", [](const Tensor& t, const Axes& a, bool k) { return sum(t, a, k); }},
      {"mean", [](const Tensor& t, const Axes& a, bool k) { return mean(t, a, k); }},
      {"max", [](const Tensor& t, const Axes& a, bool k) { return max(t, a, k); }},
      {"min", [](const Tensor& t, const Axes& a, bool k) { return min(t, a, k); }},
      {"var0", [](const Tensor& t, const Axes& a, bool k) { return var(t, a, k, 0); }},
      {"var1", [](const Tensor& t, const Axes& a, bool k) { return var(t, a, k, 1); }},
  };
  for (const auto& [name, op] : ops) {
    INFO(name);
    for (const Axes& axes : std::vector<Axes>{{}, {1}, {0, 2}, {-1}}) {
      for (bool keepdim : {false, true}) {
        grad_check([&](const std::vector<Tensor>& in) { return op(in[0], axes, keepdim); },
                   {distinct_param({3, 4, 5}, 11)});
        // Non-contiguous input: the op sees a transposed view of the leaf.
        grad_check([&](const std::vector<Tensor>& in) { return op(in[0].transpose(0, 2), axes, keepdim); },
                   {distinct_param({5, 4, 3}, 12)});
      }
    }
    full_jacobian_check([&](const std::vector<Tensor>& in) { return op(in[0], {1}, false); },
                        {distinct_param({2, 3}, 13)});
    full_jacobian_check([&](const std::vector<Tensor>& in) { return op(in[0].t(), {}, false); },
                        {distinct_param({3, 2}, 14)});
  }
}

TEST_CASE("reduce: errors name the op and the problem", "[core]") {
  Tensor x = randn({2, 3});
  CHECK_THROWS_WITH(sum(x, {2}), Catch::Contains("qgrad::sum") && Catch::Contains("axis 2 is out of range"));
  CHECK_THROWS_WITH(max(x, {-3}), Catch::Contains("qgrad::max") && Catch::Contains("axis -3 is out of range"));
  CHECK_THROWS_WITH(min(x, {1, -1}), Catch::Contains("qgrad::min") && Catch::Contains("listed twice"));
  CHECK_THROWS_WITH(var(x, {0, 0}), Catch::Contains("qgrad::var") && Catch::Contains("listed twice"));
  CHECK_THROWS_WITH(mean(x, {5}), Catch::Contains("qgrad::mean") && Catch::Contains("axis 5 is out of range"));
  CHECK_THROWS_WITH(argmax(x, 2), Catch::Contains("qgrad::argmax") && Catch::Contains("axis 2 is out of range"));

  Tensor e = zeros({2, 0});
  CHECK_THROWS_WITH(max(e, {1}), Catch::Contains("qgrad::max") && Catch::Contains("empty axis") &&
                                     Catch::Contains("[2, 0]"));
  CHECK_THROWS_WITH(min(e), Catch::Contains("qgrad::min") && Catch::Contains("empty axis"));
  CHECK_THROWS_WITH(mean(e, {1}), Catch::Contains("qgrad::mean") && Catch::Contains("empty axis"));
  CHECK_THROWS_WITH(argmax(e, 1), Catch::Contains("qgrad::argmax") && Catch::Contains("axis 1 is empty"));

  CHECK_THROWS_WITH(var(x, {0}, false, 2), Catch::Contains("qgrad::var") &&
                                               Catch::Contains("correction 2 leaves no degrees of freedom") &&
                                               Catch::Contains("hold 2 element(s)"));
  CHECK_THROWS_WITH(var(x, {}, false, -1), Catch::Contains("correction must be >= 0, got -1"));

  Tensor i8 = from_vector<int8_t>({1, 2}, {2});
  CHECK_THROWS_WITH(max(i8), Catch::Contains("qgrad::max") && Catch::Contains("expects float32"));
  CHECK_THROWS_WITH(var(i8), Catch::Contains("qgrad::var") && Catch::Contains("expects float32"));
  CHECK_THROWS_WITH(argmax(i8), Catch::Contains("qgrad::argmax") && Catch::Contains("expects float32"));
}
