// How a strided matrix reaches BLAS without a copy (internal to the ops, tested directly).
// BLAS reads a row-major [rows, cols] matrix whose element (i, j) lives at
//   i ld + j   (plain: a row-major matrix with row stride ld >= cols), or at
//   j ld + i   (trans: the transpose of a row-major [cols, rows] matrix, e.g. a .t() view).
// Anything else (a stepped slice, a stride-0 broadcast axis) must be compacted first.
#pragma once
#include <algorithm>
#include <cstdint>
#include <optional>

namespace qgrad::detail {

struct BlasLayout {
  bool trans = false;
  int64_t ld = 1;
};

// The layout of a matrix with the given strides (in elements), or nullopt when BLAS cannot
// read it as is. An axis of size 1 may have any stride, so it never disqualifies a layout; an
// empty matrix is read nowhere, so any layout serves.
inline std::optional<BlasLayout> blas_layout(int64_t rows, int64_t cols, int64_t row_stride,
                                             int64_t col_stride) {
  const int64_t min_ld_plain = std::max<int64_t>(cols, 1), min_ld_trans = std::max<int64_t>(rows, 1);
  if (rows == 0 || cols == 0) return BlasLayout{false, min_ld_plain};
  if ((cols == 1 || col_stride == 1) && (rows == 1 || row_stride >= min_ld_plain))
    return BlasLayout{false, rows == 1 ? min_ld_plain : row_stride};
  if ((rows == 1 || row_stride == 1) && (cols == 1 || col_stride >= min_ld_trans))
    return BlasLayout{true, cols == 1 ? min_ld_trans : col_stride};
  return std::nullopt;
}

}  // namespace qgrad::detail
