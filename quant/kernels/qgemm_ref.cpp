// qgemm_u8s8s32_ref: the scalar specification every SIMD kernel must equal bit for bit.
//   acc[i][j] = sum_k A[i][k] * B[k][j]   (int32; k <= 65536 keeps it exact)
//   then store_tile folds -za * colsum[j] + bias[j] and writes int32 or requantized uint8.
// B is packed as plain columns (nr = 1, kg = 1): column j is k contiguous bytes, so each output
// is one dot product of two contiguous vectors, as simple as the definition.
#include <vector>

#include "quant/kernels/cpu_features.h"
#include "quant/kernels/qgemm_tile.h"

namespace qgrad::quant {

namespace {

void pack_ref(const int8_t* b, int64_t ldb, int64_t k, int64_t n, int8_t* dst) {
  detail::pack_panels(b, ldb, k, n, 1, 1, 1, dst, [](const int8_t* v, int8_t* out) { out[0] = v[0]; });
}

void qgemm_u8s8s32_ref(const QGemmCall& c) {
  std::vector<int32_t> row(static_cast<size_t>(c.n));
  for (int64_t i = 0; i < c.m; ++i) {
    const uint8_t* a = c.a + i * c.lda;
    for (int64_t j = 0; j < c.n; ++j) {
      const int8_t* b = c.packed + j * c.k;
      int32_t acc = 0;
      for (int64_t p = 0; p < c.k; ++p) acc += static_cast<int32_t>(a[p]) * b[p];
      row[static_cast<size_t>(j)] = acc;
    }
    detail::store_tile(c, row.data(), 0, i, 0, 1, c.n, c.za);
  }
}

}  // namespace

extern const QGemmKernel kQGemmRef;
const QGemmKernel kQGemmRef = {"ref", 1, 1, 1, pack_ref, qgemm_u8s8s32_ref, detail::always_supported};

}  // namespace qgrad::quant
