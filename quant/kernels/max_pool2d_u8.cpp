// max_pool2d_u8 (see max_pool2d_u8.h). Per image i, in three passes over contiguous byte
// vectors, with k = kernel, s = stride, p = padding, C = channels, row pitch P = (W + 2 p) C:
//   1. vertical:   v[oy P + (x + p) C + c] = max over the window's rows y of x[i][y][x][c]; v
//                  is zero on the p pixels either side of each row (0 never beats a real code,
//                  so a padded position never wins: the "-infinity" of float max pooling)
//   2. horizontal: m[j] = max over kx < k of v[j + kx C], for every j of the whole image (every
//                  pixel start, not only every s-th, and across row ends, whose results are
//                  never picked: one long contiguous loop is faster than many short or strided
//                  ones when C is small; per output row, LeNet's first pool took 1.35x as long)
//   3. pick:       y[i][oy][ox][:] = m[oy P + ox s C .. + C)
// With C >= kWideChannels passes 2 and 3 are one: the max of k vectors of C bytes per output pixel.
#include "quant/kernels/max_pool2d_u8.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "quant/kernels/short_copy.h"

namespace qgrad::quant {

namespace {
// From this many channels on, an output pixel's max over its window row is itself a loop long
// enough to vectorize, and pass 2 is done only for the picked window starts (computing it for
// every start made the CIFAR CNN's pools, 32-128 channels, ~12% slower).
constexpr int64_t kWideChannels = 32;

// a[j] = max(a[j], b[j]) for j < n: vectorized by the compiler (pmaxub).
inline void max_into(uint8_t* __restrict a, const uint8_t* __restrict b, int64_t n) {
  for (int64_t j = 0; j < n; ++j) a[j] = std::max(a[j], b[j]);
}
// a[j] = max(b[j], c[j]) for j < n.
inline void max_of(uint8_t* __restrict a, const uint8_t* __restrict b, const uint8_t* __restrict c, int64_t n) {
  for (int64_t j = 0; j < n; ++j) a[j] = std::max(b[j], c[j]);
}

// Pass 2: out[j] = max over kx < k of v[j + kx c] for j < n (out does not overlap v).
inline void window_row_max(uint8_t* __restrict out, const uint8_t* v, int64_t k, int64_t c, int64_t n) {
  if (k == 1) {
    std::copy(v, v + n, out);
    return;
  }
  max_of(out, v, v + c, n);  // not a copy and a max_into: one pass less over out
  for (int64_t kx = 2; kx < k; ++kx) max_into(out, v + kx * c, n);
}
}  // namespace

void check_max_pool_shape(const MaxPoolShape& s) {
  const int64_t n = s.batch, h = s.height, w = s.width, c = s.channels, k = s.options.kernel;
  const int64_t stride = s.stride(), p = s.options.padding;
  check(n >= 0 && h >= 1 && w >= 1 && c >= 1 && k >= 1 && stride >= 1 && p >= 0 && p < k, "max_pool2d_u8",
        "invalid shape: N ", n, ", H ", h, ", W ", w, ", C ", c, ", kernel ", k, ", stride ", stride, ", padding ", p,
        " (padding must be below the kernel)");
  check(h + 2 * p >= k && w + 2 * p >= k, "max_pool2d_u8", "window ", k, " does not fit input ", h, "x", w,
        " with padding ", p);
}

void max_pool2d_u8(const uint8_t* x, const MaxPoolShape& s, uint8_t* y) {
  check_max_pool_shape(s);
  const int64_t n = s.batch, h = s.height, w = s.width, c = s.channels, k = s.options.kernel;
  const int64_t stride = s.stride(), p = s.options.padding;
  const int64_t oh = s.out_h(), ow = s.out_w(), row_bytes = w * c, pitch = (w + 2 * p) * c;
  const int64_t m_bytes = oh * pitch - (k - 1) * c;  // pass 2's outputs: every possible window start
  // Threads only for ~150 us of work or more (2^20 window bytes): waking a sleeping worker
  // costs tens of us on the shared machine, and at 2 threads LeNet's pools at batch 64 measured
  // slower in parallel (47 against 53 us, 11 against 22 us); its first pool at batch 256 is 2^20.
  const bool parallel = n > 1 && n * oh * ow * c * k * k >= (int64_t{1} << 20);
  const int64_t chunks = parallel ? chunk_count(n, 1) : 1;
  parallel_chunks(chunks, [&](int64_t chunk, int) {
    std::vector<uint8_t> v(static_cast<size_t>(oh * pitch), 0), m(static_cast<size_t>(m_bytes));  // this chunk's
    for (int64_t i = n * chunk / chunks; i < n * (chunk + 1) / chunks; ++i) {
      const uint8_t* image = x + i * h * row_bytes;
      for (int64_t oy = 0; oy < oh; ++oy) {
        const int64_t y0 = std::max<int64_t>(0, oy * stride - p), y1 = std::min<int64_t>(h, oy * stride - p + k);
        uint8_t* vr = v.data() + oy * pitch + p * c;  // the row's first real pixel; the borders stay 0
        std::copy(image + y0 * row_bytes, image + (y0 + 1) * row_bytes, vr);
        for (int64_t yy = y0 + 1; yy < y1; ++yy) max_into(vr, image + yy * row_bytes, row_bytes);
      }
      uint8_t* out = y + i * oh * ow * c;
      if (c >= kWideChannels) {  // pass 2 and 3 as one: each output pixel's max of k vectors of C bytes
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox) {
            const uint8_t* vp = v.data() + oy * pitch + ox * stride * c;
            uint8_t* o = out + (oy * ow + ox) * c;
            window_row_max(o, vp, k, c, c);
          }
        continue;
      }
      window_row_max(m.data(), v.data(), k, c, m_bytes);
      for (int64_t oy = 0; oy < oh; ++oy) {
        const uint8_t* mr = m.data() + oy * pitch;
        if (stride == 1) {
          std::copy(mr, mr + ow * c, out + oy * ow * c);
        } else {
          for (int64_t ox = 0; ox < ow; ++ox) detail::copy_run(out + (oy * ow + ox) * c, mr + ox * stride * c, c);
        }
      }
    }
  });
}

}  // namespace qgrad::quant
