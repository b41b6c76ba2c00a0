// CudaBackend::gemm through cuBLAS. cuBLAS is column-major; a row-major [m, n] matrix with row
// stride ldc is, read column-major, its transpose [n, m] with leading dimension ldc. So the
// row-major product C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T:
// B and A swap places and keep their own transpose flags (the usual transposition trick).
// The edge cases mirror cpu_gemm.cpp: empty products, k = 0 (C = beta C, beta = 0 never reads C),
// sizes past int.
#include <climits>

#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda_backend.h"

namespace qgrad {

namespace cuda {
namespace {

// One cuBLAS handle per host thread (a handle must not be used by two threads at once), bound
// to the default stream like every kernel here.
class Handle {
 public:
  Handle() { QGRAD_CUBLAS_CHECK(cublasCreate(&h_)); }
  ~Handle() { cublasDestroy(h_); }  // may fail harmlessly at process exit
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};

cublasHandle_t cublas() {
  thread_local Handle handle;
  return handle.get();
}

// C = beta C over an [m, n] row-major block with row stride ldc; beta = 0 writes zeros.
__global__ void scale_rows(float* c, int64_t m, int64_t n, int64_t ldc, float beta) {
  const int64_t total = m * n;
  for (int64_t i = first_index(); i < total; i += grid_stride()) {
    float& v = c[(i / n) * ldc + i % n];
    v = beta == 0.f ? 0.f : beta * v;
  }
}

}  // namespace
}  // namespace cuda

using namespace cuda;

void CudaBackend::gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                       const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                       int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    scale_rows<<<blocks_for(m * n), kThreads>>>(c, m, n, ldc, beta);
    QGRAD_CUDA_CHECK_LAUNCH();
    return;
  }
  for (int64_t v : {m, n, k, lda, ldb, ldc})
    check(v <= INT_MAX, "gemm", "size ", v, " exceeds cuBLAS's int range (m=", m, ", n=", n,
          ", k=", k, ")");
  QGRAD_CUBLAS_CHECK(cublasSgemm(cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                                 static_cast<int>(ldb), a, static_cast<int>(lda), &beta, c,
                                 static_cast<int>(ldc)));
}

}  // namespace qgrad
