// Helpers for checking ops against naive reference loops written in the tests: read elements
// through strides (independent of the op under test) and compare with a tolerance scaled by
// the size of the terms summed, so long float32 sums are judged fairly.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "qgrad.h"

namespace qgrad::testing {

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
