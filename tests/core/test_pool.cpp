// max_pool2d and avg_pool2d: forward against naive window loops, the tie and padding rules,
// gradients (on well-separated values for max, so finite differences never flip an argmax),
// and error messages.
#include <catch2/catch.hpp>

#include <limits>
#include <numeric>

#include "support/grad_check.h"
#include "support/reference.h"

using namespace qgrad;
using testing::RefValue;

namespace {

Tensor random(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, gen);
}

// Distinct values 0.05 apart in shuffled order: a max never sits within a finite-difference
// step of a rival.
Tensor separated(const Shape& shape, uint64_t seed) {
  std::vector<float> v(numel(shape));
  std::iota(v.begin(), v.end(), 0.f);
  Generator gen(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.below(i)]);
  for (float& x : v) x = 0.05f * x - 1.f;
  return from_vector(v, shape);
}

enum class Kind { Max, Avg };

// Naive pooling; max treats padding as -inf, avg divides by kernel^2 (count_include_pad).
std::vector<RefValue> naive_pool(Kind kind, const Tensor& x, const Pool2dOptions& o) {
  const int64_t s = o.stride == 0 ? o.kernel : o.stride, k = o.kernel, p = o.padding;
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
  std::vector<RefValue> out;
  for (int64_t n = 0; n < x.size(0); ++n)
    for (int64_t c = 0; c < x.size(1); ++c)
      for (int64_t y = 0; y < ho; ++y)
        for (int64_t z = 0; z < wo; ++z) {
          double best = -std::numeric_limits<double>::infinity(), total = 0, mag = 0;
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j) {
              int64_t ih = y * s - p + i, iw = z * s - p + j;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
              double v = testing::strided_at(x, {n, c, ih, iw});
              best = std::max(best, v);
              total += v;
              mag += std::abs(v);
            }
          out.push_back(kind == Kind::Max ? RefValue{best, std::abs(best)}
                                          : RefValue{total / double(k * k), mag / double(k * k)});
        }
  return out;
}

const std::vector<std::pair<Shape, Pool2dOptions>> kCases = {
    {{2, 3, 8, 8}, {.kernel = 2}},
    {{2, 2, 7, 9}, {.kernel = 3, .stride = 2, .padding = 1}},
    {{1, 3, 7, 7}, {.kernel = 3, .stride = 1, .padding = 1}},
    {{2, 2, 9, 6}, {.kernel = 4, .stride = 3, .padding = 2}},
    {{1, 2, 5, 5}, {.kernel = 2, .stride = 1}},
    {{3, 1, 5, 7}, {.kernel = 1, .stride = 2}},
};

}  // namespace

TEST_CASE("max_pool2d and avg_pool2d match naive loops", "[core]") {
  uint64_t seed = 1;
  for (const auto& [shape, o] : kCases) {
    INFO("x " << shape_str(shape) << " kernel " << o.kernel << " stride " << o.stride << " padding " << o.padding);
    Tensor x = random(shape, seed++);
    testing::check_close(max_pool2d(x, o), naive_pool(Kind::Max, x, o));
    testing::check_close(avg_pool2d(x, o), naive_pool(Kind::Avg, x, o));
    Tensor xt = random({shape[0], shape[1], shape[3], shape[2]}, seed++).transpose(2, 3);  // non-contiguous
    testing::check_close(max_pool2d(xt, o), naive_pool(Kind::Max, xt, o));
    testing::check_close(avg_pool2d(xt, o), naive_pool(Kind::Avg, xt, o));
  }
}

TEST_CASE("pooling by hand: padding is -inf for max and zero for avg", "[core]") {
  Tensor x = from_vector<float>({-1, -2, -3, -4}, {1, 1, 2, 2});
  Pool2dOptions o{.kernel = 2, .stride = 1, .padding = 1};
  // Each output window sees the corner element(s) of x it overlaps.
  CHECK(max_pool2d(x, o).to_vector() == std::vector<float>{-1, -1, -2, -1, -1, -2, -3, -3, -4});
  CHECK(avg_pool2d(x, o).to_vector() ==
        std::vector<float>{-0.25f, -0.75f, -0.5f, -1.f, -2.5f, -1.5f, -0.75f, -1.75f, -1.f});
}

TEST_CASE("max_pool2d sends the gradient to the first maximum of a tie", "[core]") {
  Tensor x = from_vector<float>({3, 3, 1, 3, 2, 3, 5, 5}, {1, 1, 2, 4}).requires_grad_();
  Tensor y = max_pool2d(x, {.kernel = 2});
  CHECK(y.to_vector() == std::vector<float>{3, 5});
  y.backward(from_vector<float>({10, 20}, {1, 1, 1, 2}));
  CHECK(x.grad().to_vector() == std::vector<float>{10, 0, 0, 0, 0, 0, 20, 0});
}

TEST_CASE("overlapping max windows add their gradients", "[core]") {
  Tensor x = from_vector<float>({1, 9, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 3, 3}).requires_grad_();
  max_pool2d(x, {.kernel = 2, .stride = 1}).backward(ones({1, 1, 2, 2}));
  // 9 wins both top windows, 7 and 8 one bottom window each.
  CHECK(x.grad().to_vector() == std::vector<float>{0, 2, 0, 0, 0, 0, 0, 1, 1});
}

TEST_CASE("pooling gradients", "[grad]") {
  uint64_t seed = 50;
  for (const auto& [shape, o] : kCases) {
    INFO("x " << shape_str(shape) << " kernel " << o.kernel << " stride " << o.stride << " padding " << o.padding);
    Pool2dOptions opt = o;
    testing::grad_check([opt](const std::vector<Tensor>& t) { return max_pool2d(t[0], opt); },
                        {separated(shape, seed++).requires_grad_()});
    testing::grad_check([opt](const std::vector<Tensor>& t) { return avg_pool2d(t[0], opt); },
                        {testing::param(shape, seed++)});
  }
  Tensor xt = separated({2, 3, 6, 5}, 7).permute({0, 3, 1, 2}).detach().requires_grad_();  // [2, 5, 3, 6]
  REQUIRE(!xt.is_contiguous());
  Pool2dOptions o{.kernel = 3, .stride = 2, .padding = 1};
  testing::grad_check([o](const std::vector<Tensor>& t) { return max_pool2d(t[0], o); }, {xt});
  testing::grad_check([o](const std::vector<Tensor>& t) { return avg_pool2d(t[0], o); }, {xt});
}

TEST_CASE("pooling full Jacobian on small shapes", "[grad]") {
  Pool2dOptions o{.kernel = 3, .stride = 2, .padding = 1};
  testing::full_jacobian_check([o](const std::vector<Tensor>& t) { return max_pool2d(t[0], o); },
                               {separated({1, 2, 5, 4}, 1).requires_grad_()});
  testing::full_jacobian_check([o](const std::vector<Tensor>& t) { return avg_pool2d(t[0], o); },
                               {testing::param({1, 2, 5, 4}, 2)});
}

TEST_CASE("pooling rejects bad inputs with clear messages", "[core]") {
  using Catch::Contains;
  Tensor x = random({1, 2, 6, 6}, 1);
  for (auto pool : {max_pool2d, avg_pool2d}) {
    CHECK_THROWS_WITH(pool(random({2, 6, 6}, 1), {}), Contains("expects input [N, C, H, W], got shape [2, 6, 6]"));
    CHECK_THROWS_WITH(pool(x, {.kernel = 0}), Contains("kernel must be >= 1, got 0"));
    CHECK_THROWS_WITH(pool(x, {.kernel = 2, .stride = -1}), Contains("stride must be >= 1 (or 0 for stride = kernel), got -1"));
    CHECK_THROWS_WITH(pool(x, {.kernel = 3, .padding = 2}),
                      Contains("padding must be between 0 and kernel / 2 = 1, got padding 2 with kernel 3"));
    CHECK_THROWS_WITH(pool(x, {.kernel = 2, .padding = -1}), Contains("padding must be between 0 and kernel / 2 = 1"));
    CHECK_THROWS_WITH(pool(random({1, 1, 3, 8}, 2), {.kernel = 5, .padding = 0}),
                      Contains("input [1, 1, 3, 8] padded by 0 is smaller than the kernel 5"));
    CHECK_THROWS_WITH(pool(x.to(DType::UInt8), {}), Contains("expects float32"));
  }
  CHECK_THROWS_WITH(max_pool2d(x, {.kernel = 0}), Contains("qgrad::max_pool2d:"));
  CHECK_THROWS_WITH(avg_pool2d(x, {.kernel = 0}), Contains("qgrad::avg_pool2d:"));
}
