// Naive double-precision building blocks for checking ops against an independent
// implementation: a tensor's values as doubles, and which input elements each output element of
// a reduction (or a row op along an axis) gathers. Deliberately slow and obvious.
#pragma once
#include <algorithm>
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

}  // namespace qgrad::testing
