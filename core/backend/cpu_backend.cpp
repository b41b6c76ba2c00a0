#include "core/backend/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <type_traits>
#include <vector>

#include "core/backend/cuda_backend.h"
#include "core/error.h"
#include "core/parallel.h"

namespace qgrad {

namespace {

// Below this many elements a loop is not worth waking the thread pool for.
constexpr int64_t kParallelGrain = 1 << 15;

// Visits a strided view in row-major order, calling f(view_index, compact_index) per element.
// The innermost axis runs as a tight loop; outer axes advance like an odometer.
template <class F>
void for_each_strided(const Shape& shape, const Shape& strides, int64_t offset, F&& f) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  const int64_t n = numel(shape);
  if (n == 0) return;
  if (nd == 0) {
    f(offset, 0);
    return;
  }
  const int64_t inner = shape[nd - 1], inner_stride = strides[nd - 1];
  std::vector<int64_t> idx(nd, 0);
  int64_t base = offset;
  for (int64_t out = 0; out < n; out += inner) {
    for (int64_t j = 0; j < inner; ++j) f(base + j * inner_stride, out + j);
    for (int64_t ax = nd - 2; ax >= 0; --ax) {  // advance the outer index
      base += strides[ax];
      if (++idx[ax] < shape[ax]) break;
      base -= strides[ax] * shape[ax];
      idx[ax] = 0;
    }
  }
}

template <class T>
void compact_typed(const T* src, const Shape& shape, const Shape& strides, int64_t offset, T* dst) {
  for_each_strided(shape, strides, offset, [&](int64_t s, int64_t d) { dst[d] = src[s]; });
}

template <class T>
void scatter_typed(const T* src, const Shape& shape, const Shape& strides, int64_t offset, T* dst) {
  for_each_strided(shape, strides, offset, [&](int64_t d, int64_t s) { dst[d] = src[s]; });
}

// Dispatches on element width: copies do not care about the type, only the size.
template <class F>
void by_width(DType dtype, F&& f) {
  if (dtype_size(dtype) == 4) f(uint32_t{});
  else f(uint8_t{});
}

template <class To>
To convert(float v) {
  if constexpr (std::is_same_v<To, float>) {
    return v;
  } else {
    if (std::isnan(v)) return 0;
    float r = std::round(v);  // half away from zero
    constexpr float lo = static_cast<float>(std::numeric_limits<To>::min());
    // int32 max is not representable in float; 2^31 is the first value past it.
    constexpr float hi_excl = static_cast<float>(std::numeric_limits<To>::max()) + 1.0f;
    if (r < lo) return std::numeric_limits<To>::min();
    if (r >= hi_excl) return std::numeric_limits<To>::max();
    return static_cast<To>(r);
  }
}

template <class T>
void dispatch_dtype(DType dtype, T&& f) {
  switch (dtype) {
    case DType::Float32: f(float{}); break;
    case DType::Int32: f(int32_t{}); break;
    case DType::Int8: f(int8_t{}); break;
    case DType::UInt8: f(uint8_t{}); break;
  }
}

inline float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * std::numbers::sqrt2_v<float> / 2)); }
inline float gelu_grad(float x) {
  float cdf = 0.5f * (1.0f + std::erf(x * std::numbers::sqrt2_v<float> / 2));
  float pdf = std::exp(-0.5f * x * x) * (std::numbers::inv_sqrtpi_v<float> / std::numbers::sqrt2_v<float>);
  return cdf + x * pdf;
}

inline float sigmoid(float x) {
  // Two branches so exp never overflows: for x < 0 use e^x / (1 + e^x).
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  float e = std::exp(x);
  return e / (1.0f + e);
}

inline float apply(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Pow: return std::pow(a, b);
    case BinaryOp::Maximum: return std::max(a, b);
    case BinaryOp::Minimum: return std::min(a, b);
    case BinaryOp::Eq: return a == b ? 1.f : 0.f;
    case BinaryOp::Gt: return a > b ? 1.f : 0.f;
    case BinaryOp::Ge: return a >= b ? 1.f : 0.f;
    case BinaryOp::Lt: return a < b ? 1.f : 0.f;
    case BinaryOp::Le: return a <= b ? 1.f : 0.f;
  }
  return 0;
}

// Runs body(i) for i in [0, n), in parallel (core/parallel.h) when n is large.
template <class Body>
void for_each_index(int64_t n, Body&& body) {
  parallel_for(n, kParallelGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) body(i);
  });
}

// Calls f(std::integral_constant<BinaryOp, op>): the op becomes a compile-time constant, so
// apply()'s switch folds away and each loop below is branch-free and vectorizes.
template <class F>
void with_binary_op(BinaryOp op, F&& f) {
  using enum BinaryOp;
  switch (op) {
    case Add: f(std::integral_constant<BinaryOp, Add>{}); break;
    case Sub: f(std::integral_constant<BinaryOp, Sub>{}); break;
    case Mul: f(std::integral_constant<BinaryOp, Mul>{}); break;
    case Div: f(std::integral_constant<BinaryOp, Div>{}); break;
    case Pow: f(std::integral_constant<BinaryOp, Pow>{}); break;
    case Maximum: f(std::integral_constant<BinaryOp, Maximum>{}); break;
    case Minimum: f(std::integral_constant<BinaryOp, Minimum>{}); break;
    case Eq: f(std::integral_constant<BinaryOp, Eq>{}); break;
    case Gt: f(std::integral_constant<BinaryOp, Gt>{}); break;
    case Ge: f(std::integral_constant<BinaryOp, Ge>{}); break;
    case Lt: f(std::integral_constant<BinaryOp, Lt>{}); break;
    case Le: f(std::integral_constant<BinaryOp, Le>{}); break;
  }
}

}  // namespace

void CpuBackend::compact(const void* src, DType dtype, const Shape& shape, const Shape& strides,
                         int64_t offset, void* dst) {
  by_width(dtype, [&](auto w) {
    using W = decltype(w);
    compact_typed(static_cast<const W*>(src), shape, strides, offset, static_cast<W*>(dst));
  });
}

void CpuBackend::scatter(const void* src, DType dtype, const Shape& shape, const Shape& strides,
                         int64_t offset, void* dst) {
  by_width(dtype, [&](auto w) {
    using W = decltype(w);
    scatter_typed(static_cast<const W*>(src), shape, strides, offset, static_cast<W*>(dst));
  });
}

void CpuBackend::fill(void* dst, DType dtype, int64_t n, float value) {
  dispatch_dtype(dtype, [&](auto t) {
    using T = decltype(t);
    std::fill_n(static_cast<T*>(dst), n, convert<T>(value));
  });
}

void CpuBackend::cast(const void* src, DType from, void* dst, DType to, int64_t n) {
  dispatch_dtype(from, [&](auto f) {
    using F = decltype(f);
    dispatch_dtype(to, [&](auto t) {
      using T = decltype(t);
      const F* s = static_cast<const F*>(src);
      T* d = static_cast<T*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = convert<T>(static_cast<float>(s[i]));
    });
  });
}

void CpuBackend::unary(UnaryOp op, const float* x, float* y, int64_t n, float alpha, float beta) {
  switch (op) {
    case UnaryOp::Neg: for_each_index(n, [&](int64_t i) { y[i] = -x[i]; }); break;
    case UnaryOp::Exp: for_each_index(n, [&](int64_t i) { y[i] = std::exp(x[i]); }); break;
    case UnaryOp::Log: for_each_index(n, [&](int64_t i) { y[i] = std::log(x[i]); }); break;
    case UnaryOp::Sqrt: for_each_index(n, [&](int64_t i) { y[i] = std::sqrt(x[i]); }); break;
    case UnaryOp::Abs: for_each_index(n, [&](int64_t i) { y[i] = std::fabs(x[i]); }); break;
    case UnaryOp::Sign:
      for_each_index(n, [&](int64_t i) { y[i] = static_cast<float>((x[i] > 0) - (x[i] < 0)); });
      break;
    case UnaryOp::PowScalar: for_each_index(n, [&](int64_t i) { y[i] = std::pow(x[i], alpha); }); break;
    case UnaryOp::Clamp:
      for_each_index(n, [&](int64_t i) { y[i] = std::min(std::max(x[i], alpha), beta); });
      break;
    case UnaryOp::Relu: for_each_index(n, [&](int64_t i) { y[i] = x[i] > 0 ? x[i] : 0.f; }); break;
    case UnaryOp::LeakyRelu:
      for_each_index(n, [&](int64_t i) { y[i] = x[i] > 0 ? x[i] : alpha * x[i]; });
      break;
    case UnaryOp::Sigmoid: for_each_index(n, [&](int64_t i) { y[i] = sigmoid(x[i]); }); break;
    case UnaryOp::Tanh: for_each_index(n, [&](int64_t i) { y[i] = std::tanh(x[i]); }); break;
    case UnaryOp::Gelu: for_each_index(n, [&](int64_t i) { y[i] = gelu(x[i]); }); break;
    case UnaryOp::GeluGrad: for_each_index(n, [&](int64_t i) { y[i] = gelu_grad(x[i]); }); break;
  }
}

void CpuBackend::binary(BinaryOp op, const float* a, const float* b, float* out, int64_t n) {
  with_binary_op(op, [&](auto c) { for_each_index(n, [&](int64_t i) { out[i] = apply(c, a[i], b[i]); }); });
}

void CpuBackend::binary_scalar(BinaryOp op, const float* a, float b, float* out, int64_t n) {
  with_binary_op(op, [&](auto c) { for_each_index(n, [&](int64_t i) { out[i] = apply(c, a[i], b); }); });
}

void CpuBackend::where(const float* cond, const float* a, const float* b, float* out, int64_t n) {
  for_each_index(n, [&](int64_t i) { out[i] = cond[i] != 0.f ? a[i] : b[i]; });
}

void CpuBackend::reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t inner) {
  const int64_t rows_per_grain = std::max<int64_t>(kParallelGrain / std::max<int64_t>(inner, 1), 1);
  parallel_for(outer, rows_per_grain, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      const float* row = x + o * inner;
      float acc = 0.f;
      switch (op) {
        case ReduceOp::Sum: {
          // Accumulate in double: sums over tens of thousands of floats keep full precision.
          double s = 0;
          for (int64_t j = 0; j < inner; ++j) s += row[j];
          acc = static_cast<float>(s);
          break;
        }
        case ReduceOp::Max:
          acc = -std::numeric_limits<float>::infinity();
          for (int64_t j = 0; j < inner; ++j) acc = std::max(acc, row[j]);
          break;
        case ReduceOp::Min:
          acc = std::numeric_limits<float>::infinity();
          for (int64_t j = 0; j < inner; ++j) acc = std::min(acc, row[j]);
          break;
      }
      out[o] = acc;
    }
  });
}

void CpuBackend::argmax(const float* x, int32_t* out, int64_t outer, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    const float* row = x + o * inner;
    int64_t best = 0;
    for (int64_t j = 1; j < inner; ++j)
      if (row[j] > row[best]) best = j;
    out[o] = static_cast<int32_t>(best);
  }
}

Backend& backend_for(Device device) {
  static CpuBackend cpu;
  if (device == Device::CUDA) return cuda_backend();  // fails clearly without CUDA or a GPU
  return cpu;
}

}  // namespace qgrad
