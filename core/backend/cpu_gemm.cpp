// CpuBackend::gemm: OpenBLAS cblas_sgemm, row-major. The only work done here beyond the call
// is the edge cases BLAS leaves undefined or rejects: empty products and sizes past int.
#include <cblas.h>

#include <algorithm>
#include <climits>

#include "core/backend/cpu_backend.h"
#include "core/error.h"

namespace qgrad {

void CpuBackend::gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                      const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                      float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum: C = beta C, and beta = 0 must not read C (it may be garbage)
    for (int64_t i = 0; i < m; ++i) {
      float* row = c + i * ldc;
      if (beta == 0.f) std::fill_n(row, n, 0.f);
      else std::transform(row, row + n, row, [beta](float v) { return beta * v; });
    }
    return;
  }
  for (int64_t v : {m, n, k, lda, ldb, ldc})
    check(v <= INT_MAX, "gemm", "size ", v, " exceeds BLAS's int range (m=", m, ", n=", n,
          ", k=", k, ")");
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

}  // namespace qgrad
