// Naive building blocks for checking ops against an independent implementation, deliberately
// slow and obvious: a tensor's values as doubles; which input elements each output element of a
// reduction (or a row op along an axis) gathers; elements read through strides (independent of
// the op under test); and a comparison whose tolerance scales with the size of the terms summed,
// so long float32 sums are judged fairly.
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "qgrad.h"

namespace qgrad::testing {

// Row-major values of a float32 tensor (any strides), as doubles.
inline std::vector<double> values(const Tensor& t) {
  std::vector<float> v = t.to_vector();
  return {v.begin(), v.end()};
}

// Row-major flat indices of x's elements, grouped by the output element of a reduction over
// `axes` (empty = all; negative axes count from the end). Groups come in row-major order of the
// kept axes; inside a group, indices are in row-major order too (so along one axis: in order).
inline std::vector<std::vector<int64_t>> reduction_groups(const Shape& shape, std::vector<int64_t> axes) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  std::vector<bool> reduced(nd, axes.empty());
  for (int64_t a : axes) reduced[a < 0 ? a + nd : a] = true;
  int64_t groups = 1;
  for (int64_t d = 0; d < nd; ++d)
    if (!reduced[d]) groups *= shape[d];
  std::vector<std::vector<int64_t>> out(groups);
  std::vector<int64_t> idx(nd, 0);
  for (int64_t flat = 0; flat < numel(shape); ++flat) {
    int64_t g = 0;
    for (int64_t d = 0; d < nd; ++d)
      if (!reduced[d]) g = g * shape[d] + idx[d];
    out[g].push_back(flat);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// A float tensor with requires_grad whose values are a shuffle of 0.1 * (0 .. n-1) - 0.1 n / 2:
// no ties and gaps of 0.1, far wider than a finite-difference step, for max/min gradient checks.
inline Tensor distinct_param(const Shape& shape, uint64_t seed) {
  const int64_t n = numel(shape);
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 0.1f * static_cast<float>(i) - 0.05f * static_cast<float>(n);
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[gen.below(i + 1)]);
  return from_vector(v, shape).requires_grad_();
}

// Element idx of t, read through its shape, strides and offset.
inline float strided_at(const Tensor& t, const std::vector<int64_t>& idx) {
  int64_t pos = t.offset();
  for (size_t i = 0; i < idx.size(); ++i) pos += idx[i] * t.strides()[i];
  return static_cast<const float*>(t.storage()->data())[pos];
}

// A reference value with the sum of |terms| that produced it (float32 rounding grows with it).
struct RefValue {
  double value = 0;
  double magnitude = 0;
};

// got[i] ~= ref[i].value within float32 accumulation error: 1e-5 |terms| + 1e-6.
inline void check_close(const Tensor& got, const std::vector<RefValue>& ref) {
  std::vector<float> g = got.to_vector();
  REQUIRE(g.size() == ref.size());
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": got " << g[i] << ", expected " << ref[i].value);
    CHECK(std::abs(g[i] - ref[i].value) <= 1e-5 * ref[i].magnitude + 1e-6);
  }
}

// Row-major multi-index of flat position `flat` in `shape`.
inline std::vector<int64_t> unravel(int64_t flat, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (int64_t a = static_cast<int64_t>(shape.size()) - 1; a >= 0; --a) {
    idx[a] = flat % shape[a];
    flat /= shape[a];
  }
  return idx;
}

}  // namespace qgrad::testing
