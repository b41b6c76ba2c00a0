// Helpers shared by the CUDA tests: moving tensors between devices, random data, and comparing
// a GPU result with the CPU backend's (the specification) within a stated tolerance.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "core/backend/backend.h"
#include "core/tensor.h"

namespace qgrad::cuda_test {

inline Backend& cpu() { return backend_for(Device::CPU); }
inline Backend& gpu() { return backend_for(Device::CUDA); }
inline Tensor dev(const Tensor& t) { return t.to(Device::CUDA); }
inline Tensor host(const Tensor& t) { return t.to(Device::CPU); }

// n floats uniform in [lo, hi).
inline Tensor uniform(const Shape& shape, float lo, float hi, Generator& gen) {
  Tensor t = empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = lo + (hi - lo) * gen.uniform();
  return t;
}

// Small integers as floats, so maxima tie often.
inline Tensor small_ints(const Shape& shape, int levels, Generator& gen) {
  Tensor t = empty(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(gen.below(levels));
  return t;
}

// |got - want| <= atol + rtol |want| everywhere (NaN matches NaN); reports the worst element.
inline void require_close(const Tensor& got, const Tensor& want, double rtol, double atol,
                          const std::string& what) {
  INFO(what);
  REQUIRE(got.shape() == want.shape());
  const std::vector<float> a = got.to_vector(), b = want.to_vector();
  int64_t worst = -1;
  double worst_excess = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    const double err = std::isnan(a[i]) || std::isnan(b[i]) ? INFINITY : std::fabs(double(a[i]) - b[i]);
    const double excess = err - (atol + rtol * std::fabs(double(b[i])));
    if (excess > worst_excess) {
      worst_excess = excess;
      worst = static_cast<int64_t>(i);
    }
  }
  if (worst >= 0) {
    INFO("element " << worst << ": gpu " << a[worst] << ", cpu " << b[worst] << " (rtol " << rtol
                    << ", atol " << atol << ")");
    REQUIRE(worst < 0);
  }
  SUCCEED();
}

inline void require_equal(const Tensor& got, const Tensor& want, const std::string& what) {
  require_close(got, want, 0, 0, what);
}

}  // namespace qgrad::cuda_test
