// The CPU backend: plain loops, the thread pool (core/parallel.h) over large buffers. It is the
// specification every other backend is tested against.
#pragma once
#include "core/backend/backend.h"

namespace qgrad {

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  void compact(const void* src, DType dtype, const Shape& shape, const Shape& strides,
               int64_t offset, void* dst) override;
  void scatter(const void* src, DType dtype, const Shape& shape, const Shape& strides,
               int64_t offset, void* dst) override;
  void fill(void* dst, DType dtype, int64_t n, float value) override;
  void cast(const void* src, DType from, void* dst, DType to, int64_t n) override;

  void unary(UnaryOp op, const float* x, float* y, int64_t n, float alpha, float beta) override;
  void binary(BinaryOp op, const float* a, const float* b, float* out, int64_t n) override;
  void binary_scalar(BinaryOp op, const float* a, float b, float* out, int64_t n) override;
  void where(const float* cond, const float* a, const float* b, float* out, int64_t n) override;

  void reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t inner) override;
  void argmax(const float* x, int32_t* out, int64_t outer, int64_t inner) override;

  // softmax (core/backend/cpu_softmax.cpp)
  void softmax_rows(const float* x, float* y, int64_t outer, int64_t inner, bool log) override;
  void softmax_rows_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t inner,
                             bool log) override;
  void cross_entropy_rows(const float* x, const int32_t* targets, float* loss, float* row_max,
                          float* row_log_sum, int64_t outer, int64_t inner) override;
  void cross_entropy_rows_backward(const float* x, const int32_t* targets, const float* row_max,
                                   const float* row_log_sum, float scale, float* dx, int64_t outer,
                                   int64_t inner) override;

  // --- matmul / conv / pool: cpu_gemm.cpp, cpu_conv.cpp, cpu_pool.cpp ------------------------
  void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
            const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
            int64_t ldc) override;
  void im2col(const float* x, int64_t images, const Window2d& w, float* cols) override;
  void col2im(const float* cols, int64_t images, const Window2d& w, float* x) override;
  void max_pool2d_forward(const float* x, const Window2d& w, float* y, int32_t* argmax) override;
  void max_pool2d_backward(const float* dy, const int32_t* argmax, const Window2d& w,
                           float* dx) override;
  void avg_pool2d_forward(const float* x, const Window2d& w, float* y) override;
  void avg_pool2d_backward(const float* dy, const Window2d& w, float* dx) override;
};

}  // namespace qgrad
