// im2col_u8 (see im2col_u8.h for the layout and why padding is the zero point).
#include "quant/kernels/im2col_u8.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace qgrad::quant {

namespace {
// Runs are short (a 1-channel 5x5 kernel row is 5 bytes, a 6-channel one 30), and a library call
// or a byte loop per run costs more than the copy. Two fixed-size copies that overlap in the
// middle cover any length between w and 2w with single loads and stores, and never touch a
// byte outside [0, n) of either side.
inline void copy_run(uint8_t* dst, const uint8_t* src, int64_t n) {
  if (n >= 32) {
    std::memcpy(dst, src, static_cast<size_t>(n));
  } else if (n >= 16) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
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
  // The shape is copied into locals: the byte stores below may alias anything (uint8_t is a
  // character type), so fields read through `s` would be reloaded after every store.
  const int64_t ho = s.out_h(), wo = s.out_w(), c = s.channels, h = s.height, w = s.width;
  const int64_t kh = s.kernel_h, kw = s.kernel_w, sh = s.stride_h, sw = s.stride_w, ph = s.pad_h, pw = s.pad_w;
  const int64_t run = kw * c, cols = s.cols();
  for (int64_t oy = 0; oy < ho; ++oy)
    for (int64_t ox = 0; ox < wo; ++ox) {
      uint8_t* row = out + (oy * wo + ox) * cols;
      // Kernel columns [lo, hi) fall inside the image; the same for every kernel row.
      const int64_t x0 = ox * sw - pw;
      const int64_t lo = std::clamp<int64_t>(-x0, 0, kw);
      const int64_t hi = std::clamp<int64_t>(w - x0, lo, kw);
      for (int64_t ky = 0; ky < kh; ++ky) {
        uint8_t* dst = row + ky * run;
        const int64_t y = oy * sh - ph + ky;
        if (y < 0 || y >= h) {
          fill_run(dst, zero_point, run);
        } else if (lo == 0 && hi == kw) {  // the common case: the whole kernel row is inside
          copy_run(dst, image + (y * w + x0) * c, run);
        } else {
          fill_run(dst, zero_point, lo * c);
          copy_run(dst + lo * c, image + (y * w + x0 + lo) * c, (hi - lo) * c);
          fill_run(dst + hi * c, zero_point, (kw - hi) * c);
        }
      }
    }
}

}  // namespace qgrad::quant
