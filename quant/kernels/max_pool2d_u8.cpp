// max_pool2d_u8 (see max_pool2d_u8.h). Per output row (image i, row oy), in three passes over
// contiguous byte vectors, with k = kernel, s = stride, p = padding, C = channels:
//   1. vertical:   v[(x + p) C + c] = max over the window's rows y of x[i][y][x][c]; v is
//                  zero on the p pixels either side (0 never beats a real code, so a padded
//                  position never wins: the "-infinity" of float max pooling)
//   2. horizontal: m[j] = max over kx < k of v[j + kx C], for every j (every pixel start, not
//                  only every s-th: a contiguous loop is faster than a strided one for small C)
//   3. pick:       y[i][oy][ox][:] = m[ox s C .. ox s C + C)
#include "quant/kernels/max_pool2d_u8.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "quant/kernels/short_copy.h"

namespace qgrad::quant {

namespace {
// a[j] = max(a[j], b[j]) for j < n: vectorized by the compiler (pmaxub).
inline void max_into(uint8_t* __restrict a, const uint8_t* __restrict b, int64_t n) {
  for (int64_t j = 0; j < n; ++j) a[j] = std::max(a[j], b[j]);
}
}  // namespace

void max_pool2d_u8(const uint8_t* x, const MaxPoolShape& s, uint8_t* y) {
  const int64_t n = s.batch, h = s.height, w = s.width, c = s.channels, k = s.options.kernel;
  const int64_t stride = s.stride(), p = s.options.padding;
  check(n >= 0 && h >= 1 && w >= 1 && c >= 1 && k >= 1 && stride >= 1 && p >= 0 && p < k, "max_pool2d_u8",
        "invalid shape: N ", n, ", H ", h, ", W ", w, ", C ", c, ", kernel ", k, ", stride ", stride, ", padding ", p,
        " (padding must be below the kernel)");
  check(h + 2 * p >= k && w + 2 * p >= k, "max_pool2d_u8", "window ", k, " does not fit input ", h, "x", w,
        " with padding ", p);
  const int64_t oh = s.out_h(), ow = s.out_w(), row_bytes = w * c, wide = (w + 2 * p) * c;
  const int64_t m_bytes = wide - (k - 1) * c;  // pass 2's outputs: one per possible window start
  // Small pools (LeNet's second, at batch 1) are over before a parallel region has started.
  const bool parallel = n * oh * ow * c * k * k >= (int64_t{1} << 16);
#pragma omp parallel if (parallel)
  {
    std::vector<uint8_t> v(static_cast<size_t>(wide), 0), m(static_cast<size_t>(m_bytes));  // this thread's
#pragma omp for schedule(static)
    for (int64_t row = 0; row < n * oh; ++row) {
      const int64_t i = row / oh, oy = row % oh;
      const int64_t y0 = std::max<int64_t>(0, oy * stride - p), y1 = std::min<int64_t>(h, oy * stride - p + k);
      const uint8_t* image = x + i * h * row_bytes;
      uint8_t* vi = v.data() + p * c;  // v's first real pixel; the borders stay 0
      std::copy(image + y0 * row_bytes, image + (y0 + 1) * row_bytes, vi);
      for (int64_t yy = y0 + 1; yy < y1; ++yy) max_into(vi, image + yy * row_bytes, row_bytes);
      std::copy(v.data(), v.data() + m_bytes, m.data());
      for (int64_t kx = 1; kx < k; ++kx) max_into(m.data(), v.data() + kx * c, m_bytes);
      uint8_t* out = y + row * ow * c;
      if (stride == 1) {
        std::copy(m.data(), m.data() + ow * c, out);
      } else {
        for (int64_t ox = 0; ox < ow; ++ox) detail::copy_run(out + ox * c, m.data() + ox * stride * c, c);
      }
    }
  }
}

}  // namespace qgrad::quant
