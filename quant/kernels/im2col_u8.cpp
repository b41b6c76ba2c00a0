// im2col_u8 (see im2col_u8.h for the layout and why padding is the zero point).
#include "quant/kernels/im2col_u8.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace qgrad::quant {

namespace {
// Short runs (a 1- or 3-channel image gives 5- or 9-byte runs) cost more as library calls than
// as a plain loop.
inline void copy_run(uint8_t* dst, const uint8_t* src, int64_t n) {
  if (n > 32) {
    std::memcpy(dst, src, static_cast<size_t>(n));
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}
inline void fill_run(uint8_t* dst, uint8_t v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = v;
}
}  // namespace

void im2col_u8(const uint8_t* image, const Im2colShape& s, uint8_t zero_point, uint8_t* out) {
  check(s.channels >= 1 && s.height >= 1 && s.width >= 1 && s.kernel_h >= 1 && s.kernel_w >= 1 &&
            s.stride_h >= 1 && s.stride_w >= 1 && s.pad_h >= 0 && s.pad_w >= 0,
        "im2col_u8", "invalid shape: C ", s.channels, ", H ", s.height, ", W ", s.width, ", kernel ",
        s.kernel_h, "x", s.kernel_w, ", stride ", s.stride_h, "x", s.stride_w, ", padding ", s.pad_h, "x",
        s.pad_w);
  check(s.height + 2 * s.pad_h >= s.kernel_h && s.width + 2 * s.pad_w >= s.kernel_w, "im2col_u8",
        "kernel ", s.kernel_h, "x", s.kernel_w, " is larger than the padded image ", s.height + 2 * s.pad_h,
        "x", s.width + 2 * s.pad_w);
  const int64_t ho = s.out_h(), wo = s.out_w(), c = s.channels, run = s.kernel_w * c;
  for (int64_t oy = 0; oy < ho; ++oy)
    for (int64_t ox = 0; ox < wo; ++ox) {
      uint8_t* row = out + (oy * wo + ox) * s.cols();
      // Kernel columns [lo, hi) fall inside the image; the same for every kernel row.
      const int64_t x0 = ox * s.stride_w - s.pad_w;
      const int64_t lo = std::clamp<int64_t>(-x0, 0, s.kernel_w);
      const int64_t hi = std::clamp<int64_t>(s.width - x0, lo, s.kernel_w);
      for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
        uint8_t* dst = row + ky * run;
        const int64_t y = oy * s.stride_h - s.pad_h + ky;
        if (y < 0 || y >= s.height) {
          fill_run(dst, zero_point, run);
          continue;
        }
        fill_run(dst, zero_point, lo * c);
        copy_run(dst + lo * c, image + (y * s.width + x0 + lo) * c, (hi - lo) * c);
        fill_run(dst + hi * c, zero_point, (s.kernel_w - hi) * c);
      }
    }
}

}  // namespace qgrad::quant
