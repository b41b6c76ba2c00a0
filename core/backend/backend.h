// The backend seam (CMU needle's design). Ops in core/ops own shapes, strides, broadcasting and
// autograd; they hand *compact* (contiguous, row-major) buffers to a Backend, whose kernels only
// see flat arrays and sizes. The CPU backend is the specification; a CUDA backend implements
// the same interface over device buffers and is built only when CMake finds a CUDA compiler.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/shape.h"

namespace qgrad {

// y = f(x), elementwise. alpha/beta parametrize the ops that need them.
enum class UnaryOp {
  Neg,        // -x
  Exp,        // e^x
  Log,        // ln x
  Sqrt,       // sqrt(x)
  Abs,        // |x|
  Sign,       // -1, 0 or 1
  PowScalar,  // x^alpha
  Clamp,      // min(max(x, alpha), beta)
  Relu,       // max(x, 0)
  LeakyRelu,  // x > 0 ? x : alpha * x
  Sigmoid,    // 1 / (1 + e^-x)
  Tanh,       // tanh x
  Gelu,       // x * Phi(x), Phi the standard normal CDF (the exact, erf form)
  GeluGrad,   // d gelu / dx = Phi(x) + x * phi(x)
};

// out = f(a, b), elementwise. Comparisons produce 1.0f or 0.0f.
enum class BinaryOp { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Gt, Ge, Lt, Le };

enum class ReduceOp { Sum, Max, Min };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // --- memory (any dtype; sizes in elements) ---------------------------------------------------
  // dst[i] = src[offset + multi_index(i) . strides] for i over shape, row-major.
  virtual void compact(const void* src, DType dtype, const Shape& shape, const Shape& strides,
                       int64_t offset, void* dst) = 0;
  // The inverse: dst[offset + multi_index(i) . strides] = src[i].
  virtual void scatter(const void* src, DType dtype, const Shape& shape, const Shape& strides,
                       int64_t offset, void* dst) = 0;
  virtual void fill(void* dst, DType dtype, int64_t n, float value) = 0;
  // Value conversion; to integers: round half away from zero, then saturate to the type's range.
  virtual void cast(const void* src, DType from, void* dst, DType to, int64_t n) = 0;

  // --- float32 elementwise ---------------------------------------------------------------------
  virtual void unary(UnaryOp op, const float* x, float* y, int64_t n, float alpha, float beta) = 0;
  virtual void binary(BinaryOp op, const float* a, const float* b, float* out, int64_t n) = 0;
  virtual void binary_scalar(BinaryOp op, const float* a, float b, float* out, int64_t n) = 0;
  // out = cond != 0 ? a : b
  virtual void where(const float* cond, const float* a, const float* b, float* out, int64_t n) = 0;

  // --- float32 reductions over the innermost axis ------------------------------------------------
  // x is [outer, inner] row-major; out[o] = reduce(x[o, :]).
  virtual void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t inner) = 0;
  // out[o] = index of the first maximum of x[o, :].
  virtual void argmax(const float* x, int32_t* out, int64_t outer, int64_t inner) = 0;

  // --- softmax: float32 row kernels over the innermost axis (core/backend/cpu_softmax.cpp) -------
  // x, y, dy, dx are [outer, inner] row-major. Every row is shifted by its maximum m first, so
  // e^(x - m) <= 1 never overflows.
  // y = softmax(x) per row, or log_softmax(x) when log is true.
  virtual void softmax_rows(const float* x, float* y, int64_t outer, int64_t inner, bool log) = 0;
  // From the forward output y: softmax     dx = y * (dy - sum(dy * y))
  //                            log_softmax dx = dy - e^y * sum(dy)
  virtual void softmax_rows_backward(const float* y, const float* dy, float* dx, int64_t outer,
                                     int64_t inner, bool log) = 0;
  // Cross-entropy per row with its row statistics, kept for the backward:
  //   row_max[o] = m = max_c x[o, c],  row_log_sum[o] = log sum_c e^(x[o, c] - m),
  //   loss[o] = (m - x[o, t_o]) + row_log_sum[o]   (= log-sum-exp - x[o, t_o], without cancellation)
  // targets must lie in [0, inner) (the op checks them).
  virtual void cross_entropy_rows(const float* x, const int32_t* targets, float* loss, float* row_max,
                                  float* row_log_sum, int64_t outer, int64_t inner) = 0;
  // dx[o, c] = scale * (e^(x[o, c] - m_o - row_log_sum[o]) - [c == t_o])
  virtual void cross_entropy_rows_backward(const float* x, const int32_t* targets, const float* row_max,
                                           const float* row_log_sum, float scale, float* dx,
                                           int64_t outer, int64_t inner) = 0;
};

// The backend that serves a device; fails with a clear message for a device not built in.
Backend& backend_for(Device device);

}  // namespace qgrad
