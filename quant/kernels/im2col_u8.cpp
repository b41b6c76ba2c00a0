// im2col_u8 (see im2col_u8.h for the layout and why padding is the zero point).
#include "quant/kernels/im2col_u8.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace qgrad::quant {

void im2col_u8(const uint8_t* image, const Im2colShape& s, uint8_t zero_point, uint8_t* out) {
  check(s.channels >= 1 && s.height >= 1 && s.width >= 1 && s.kernel_h >= 1 && s.kernel_w >= 1 &&
            s.stride_h >= 1 && s.stride_w >= 1 && s.pad_h >= 0 && s.pad_w >= 0,
        "im2col_u8", "invalid shape: C ", s.channels, ", H ", s.height, ", W ", s.width, ", kernel ",
        s.kernel_h, "x", s.kernel_w, ", stride ", s.stride_h, "x", s.stride_w, ", padding ", s.pad_h, "x",
        s.pad_w);
  check(s.height + 2 * s.pad_h >= s.kernel_h && s.width + 2 * s.pad_w >= s.kernel_w, "im2col_u8",
        "kernel ", s.kernel_h, "x", s.kernel_w, " is larger than the padded image ", s.height + 2 * s.pad_h,
        "x", s.width + 2 * s.pad_w);
  const int64_t ho = s.out_h(), wo = s.out_w(), cols = s.cols();
  for (int64_t oy = 0; oy < ho; ++oy)
    for (int64_t ox = 0; ox < wo; ++ox) {
      uint8_t* row = out + (oy * wo + ox) * cols;
      for (int64_t c = 0; c < s.channels; ++c)
        for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
          uint8_t* dst = row + (c * s.kernel_h + ky) * s.kernel_w;
          const int64_t y = oy * s.stride_h - s.pad_h + ky;
          if (y < 0 || y >= s.height) {
            std::memset(dst, zero_point, static_cast<size_t>(s.kernel_w));
            continue;
          }
          const uint8_t* src = image + (c * s.height + y) * s.width;
          // Columns [lo, hi) of the kernel row fall inside the image: one copy, padding around it.
          const int64_t x0 = ox * s.stride_w - s.pad_w;
          const int64_t lo = std::clamp<int64_t>(-x0, 0, s.kernel_w);
          const int64_t hi = std::clamp<int64_t>(s.width - x0, lo, s.kernel_w);
          std::memset(dst, zero_point, static_cast<size_t>(lo));
          std::memcpy(dst + lo, src + x0 + lo, static_cast<size_t>(hi - lo));
          std::memset(dst + hi, zero_point, static_cast<size_t>(s.kernel_w - hi));
        }
    }
}

}  // namespace qgrad::quant
