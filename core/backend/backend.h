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

// A sliding window over a stack of [height, width] planes, shared by im2col/col2im and the
// pooling kernels. Output size per axis: (in + 2 padding - dilation (kernel - 1) - 1) / stride + 1.
struct Window2d {
  int64_t planes = 1;  // channels of one image (conv) or batch * channels (pooling)
  int64_t height = 0, width = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride = 1, padding = 0, dilation = 1;
  int64_t out_h = 0, out_w = 0;
};

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

  // --- matmul / conv / pool (float32) -------------------------------------------------------
  // C = alpha op(A) op(B) + beta C, row-major (cblas_sgemm): op(A) is [m, k], op(B) is [k, n],
  // C is [m, n]; op(X) = X^T when trans_x, so a transposed operand needs no copy. ld* are the
  // row strides of the matrices as stored. beta = 0 ignores C's old contents (may be garbage).
  virtual void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc) = 0;
  // `images` images x [images, planes, height, width] -> cols [planes kernel_h kernel_w,
  // images out_h out_w], the images' columns side by side (so one GEMM covers them all):
  //   cols[(c kh + i) kw + j, (n out_h + oh) out_w + ow] = x[n, c, oh stride - padding + i dilation,
  //                                                          ow stride - padding + j dilation]
  // (0 outside the image).
  virtual void im2col(const float* x, int64_t images, const Window2d& w, float* cols) = 0;
  // The adjoint of im2col: adds every column entry back into x (x is accumulated, not cleared).
  virtual void col2im(const float* cols, int64_t images, const Window2d& w, float* x) = 0;
  // x [planes, height, width] -> y [planes, out_h, out_w]; dilation is 1. argmax holds the
  // in-plane index (h width + w) of each window's first maximum; padding never wins.
  virtual void max_pool2d_forward(const float* x, const Window2d& w, float* y, int32_t* argmax) = 0;
  // dx (overwritten) gets each dy at its argmax.
  virtual void max_pool2d_backward(const float* dy, const int32_t* argmax, const Window2d& w,
                                   float* dx) = 0;
  // Window mean with padded zeros counted (divisor kernel_h kernel_w).
  virtual void avg_pool2d_forward(const float* x, const Window2d& w, float* y) = 0;
  // dx (overwritten) gets dy / (kernel_h kernel_w) from every window covering it.
  virtual void avg_pool2d_backward(const float* dy, const Window2d& w, float* dx) = 0;
};

// The backend that serves a device; fails with a clear message for a device not built in.
Backend& backend_for(Device device);

}  // namespace qgrad
