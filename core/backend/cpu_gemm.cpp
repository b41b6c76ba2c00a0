// CpuBackend::gemm: OpenBLAS cblas_sgemm, row-major, called single-threaded (core/threads.h).
// A large product is split into blocks of rows (or of columns, when C is wider than tall), one
// single-threaded sgemm per chunk of the thread pool (core/parallel.h): each block of C depends
// only on its own rows of op(A) (or columns of op(B)), so the blocks are independent. Inside a
// parallel loop (conv's loop over images) the call stays serial.
// The rest is the edge cases BLAS leaves undefined or rejects: empty products and sizes past int.
#include <cblas.h>

#include <algorithm>
#include <climits>

#include "core/backend/cpu_backend.h"
#include "core/error.h"
#include "core/parallel.h"

namespace qgrad {

namespace {

// At program start, before the first op runs, so OpenBLAS never starts its own (all cores,
// busy-waiting) pool: every sgemm here runs single-threaded (core/threads.h says why).
const bool g_openblas_single_threaded = [] {
  openblas_set_num_threads(1);
  return true;
}();

// Below this many multiply-adds a split costs more than it saves.
constexpr double kParallelMacs = 1 << 21;
// Fewer rows (or columns) than this per block and each sgemm packs the other operand for too
// little work.
constexpr int64_t kMinBlock = 32;

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

}  // namespace

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
  const bool big = static_cast<double>(m) * n * k >= kParallelMacs;
  const bool split_rows = m >= n;
  const int64_t size = split_rows ? m : n;
  if (!big || in_parallel() || size < 2 * kMinBlock) {
    sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  parallel_for(size, kMinBlock, [&](int64_t lo, int64_t hi) {
    if (split_rows)  // rows lo..hi of op(A): rows of A, or columns of A when stored transposed
      sgemm(trans_a, trans_b, hi - lo, n, k, alpha, trans_a ? a + lo : a + lo * lda, lda, b, ldb,
            beta, c + lo * ldc, ldc);
    else  // columns lo..hi of op(B)
      sgemm(trans_a, trans_b, m, hi - lo, k, alpha, a, lda, trans_b ? b + lo * ldb : b + lo, ldb,
            beta, c + lo, ldc);
  });
}

}  // namespace qgrad
