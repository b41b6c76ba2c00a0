// The CUDA backend, seen from plain C++ (no CUDA headers here: only the .cu files under
// core/backend/cuda include them). CudaBackend implements every kernel of core/backend/backend.h
// over device buffers with the CPU backend's exact semantics (core/backend/cpu_*.cpp is the
// specification); gemm goes through cuBLAS. Work runs on the default stream, in order, and every
// copy to the host waits for the kernels before it.
//
// Everything here exists in every build: without QGRAD_HAVE_CUDA (core/backend/cuda_none.cpp)
// each function fails with a clear qgrad::Error instead of crashing.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/backend/backend.h"

namespace qgrad {

class CudaBackend final : public Backend {
 public:
  const char* name() const override { return "cuda"; }

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

  // core/backend/cuda/cuda_rows.cu
  void softmax_rows(const float* x, float* y, int64_t outer, int64_t inner, bool log) override;
  void softmax_rows_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t inner,
                             bool log) override;
  void cross_entropy_rows(const float* x, const int32_t* targets, float* loss, float* row_max,
                          float* row_log_sum, int64_t outer, int64_t inner) override;
  void cross_entropy_rows_backward(const float* x, const int32_t* targets, const float* row_max,
                                   const float* row_log_sum, float scale, float* dx, int64_t outer,
                                   int64_t inner) override;

  // core/backend/cuda/cuda_gemm.cu (cuBLAS) and cuda_window.cu (im2col, col2im, pooling)
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

// The process's CUDA backend (device 0). Fails with a clear message when qgrad was built
// without CUDA or no GPU is visible.
Backend& cuda_backend();

// --- device memory (core/backend/cuda/cuda_backend.cu) ---------------------------------------
// nbytes of device memory (at least one byte is allocated, so the pointer is never null).
void* cuda_malloc(size_t nbytes);
// Frees cuda_malloc's memory; never throws (storages are freed from destructors).
void cuda_free(void* p) noexcept;
// Copies nbytes between any two of host and device memory; returns once the data has arrived
// (a copy to the host first waits for every kernel queued before it).
void cuda_copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);

// --- fused optimizer updates over n device floats (core/backend/cuda/cuda_optim.cu) ----------
// The same per-element formulas as nn/optim/sgd.cpp and adam.cpp, one kernel per parameter.
struct SgdStep {
  float lr, momentum, dampening, weight_decay;
  bool nesterov, first;  // first: the step that initializes the momentum buffer
};
void cuda_sgd_update(float* p, const float* grad, float* momentum_buffer, int64_t n, const SgdStep& s);
struct AdamStep {
  float lr, beta1, beta2, eps, weight_decay;
  bool decoupled;                // AdamW: decay the weights instead of the gradient
  float step_size, bc2_sqrt;     // lr / (1 - beta1^t) and sqrt(1 - beta2^t)
};
void cuda_adam_update(float* p, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                      const AdamStep& s);

}  // namespace qgrad
