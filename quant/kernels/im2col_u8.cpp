// im2col_u8 (see im2col_u8.h for the layout and why padding is the zero point).
#include "quant/kernels/im2col_u8.h"

#include <cstring>
#include <vector>

#include "core/error.h"
#include "quant/kernels/short_copy.h"

namespace qgrad::quant {

namespace {
using detail::copy_run;
using detail::copy_run_over;

// Every row of A: row (oy, ox), kernel row ky is the run of kW C bytes at
// src + ((oy sh + ky) W' + ox sw) C of an image of width W' that needs no bounds checks (padding
// already in place), copied as W-byte pieces (copy_run_over). The last rows, whose last piece
// would read past src_bytes or write past the end of A, are copied exactly instead. Why: with
// an exact copy_run per run and the border tested per run, im2col was 25% of the int8 LeNet's
// time; one 8-byte load and store per 5-byte run of its first conv halved that conv. KH > 0 is
// kH known at compile time (5 for LeNet): the kernel-row loop is then unrolled.
template <int W, int KH>
void unroll_rows(const uint8_t* src, int64_t src_bytes, int64_t src_w, int64_t c, int64_t ho, int64_t wo,
                 int64_t kh_any, int64_t run, int64_t sh, int64_t sw, uint8_t* out) {
  const int64_t kh = KH > 0 ? KH : kh_any;
  const int64_t cols = kh * run, rows = ho * wo, src_ld = src_w * c;
  const int64_t over = (run + W - 1) / W * W;  // bytes one over-long copy touches
  // Rows [0, fast) stay inside both buffers; both ends grow with the row, so the rest is a tail.
  int64_t fast = rows;
  while (fast > 0) {
    const int64_t r = fast - 1, s_end = ((r / wo) * sh * src_w + (r % wo) * sw) * c + (kh - 1) * src_ld + over;
    if (s_end <= src_bytes && r * cols + (kh - 1) * run + over <= rows * cols) break;
    --fast;
  }
  for (int64_t oy = 0; oy < ho; ++oy)
    for (int64_t ox = 0; ox < wo; ++ox) {
      const uint8_t* s = src + oy * sh * src_ld + ox * sw * c;
      uint8_t* dst = out + (oy * wo + ox) * cols;
      if (oy * wo + ox < fast) {
        for (int64_t ky = 0; ky < kh; ++ky) copy_run_over<W>(dst + ky * run, s + ky * src_ld, run);
      } else {
        for (int64_t ky = 0; ky < kh; ++ky) copy_run(dst + ky * run, s + ky * src_ld, run);
      }
    }
}
}  // namespace

void check_im2col_shape(const Im2colShape& s) {
  check(s.channels >= 1 && s.height >= 1 && s.width >= 1 && s.kernel_h >= 1 && s.kernel_w >= 1 &&
            s.stride_h >= 1 && s.stride_w >= 1 && s.pad_h >= 0 && s.pad_w >= 0,
        "im2col_u8", "invalid shape: C ", s.channels, ", H ", s.height, ", W ", s.width, ", kernel ",
        s.kernel_h, "x", s.kernel_w, ", stride ", s.stride_h, "x", s.stride_w, ", padding ", s.pad_h, "x",
        s.pad_w);
  check(s.height + 2 * s.pad_h >= s.kernel_h && s.width + 2 * s.pad_w >= s.kernel_w, "im2col_u8",
        "kernel ", s.kernel_h, "x", s.kernel_w, " is larger than the padded image ", s.height + 2 * s.pad_h,
        "x", s.width + 2 * s.pad_w);
}

void im2col_u8(const uint8_t* image, const Im2colShape& s, uint8_t zero_point, uint8_t* out) {
  check_im2col_shape(s);
  // The shape is copied into locals: the byte stores below may alias anything (uint8_t is a
  // character type), so fields read through `s` would be reloaded after every store.
  const int64_t ho = s.out_h(), wo = s.out_w(), c = s.channels, h = s.height, w = s.width;
  const int64_t kh = s.kernel_h, sh = s.stride_h, sw = s.stride_w, ph = s.pad_h, pw = s.pad_w;
  const int64_t run = s.kernel_w * c;
  // With padding, the image is first copied into a zero-point frame [H + 2 ph, W + 2 pw, C] (one
  // pass over the image, against kH kW passes for A): every run is then one unconditional copy
  // of a whole kernel row, with no test for the border. 32 spare bytes let the over-long copies
  // of the last runs read past the frame.
  const uint8_t* src = image;
  int64_t src_w = w, src_bytes = h * w * c;
  thread_local std::vector<uint8_t> frame;  // reused: one per thread, not one per call
  if (ph > 0 || pw > 0) {
    src_w = w + 2 * pw;
    const int64_t frame_bytes = (h + 2 * ph) * src_w * c;
    frame.assign(static_cast<size_t>(frame_bytes + 32), zero_point);
    for (int64_t y = 0; y < h; ++y)
      std::memcpy(frame.data() + ((y + ph) * src_w + pw) * c, image + y * w * c, static_cast<size_t>(w * c));
    src = frame.data();
    src_bytes = frame_bytes + 32;
  }
  if (run <= 8 && kh == 5) {
    unroll_rows<8, 5>(src, src_bytes, src_w, c, ho, wo, kh, run, sh, sw, out);
  } else if (run <= 8) {
    unroll_rows<8, 0>(src, src_bytes, src_w, c, ho, wo, kh, run, sh, sw, out);
  } else if (run <= 16) {
    unroll_rows<16, 0>(src, src_bytes, src_w, c, ho, wo, kh, run, sh, sw, out);
  } else {
    unroll_rows<32, 0>(src, src_bytes, src_w, c, ho, wo, kh, run, sh, sw, out);
  }
}

}  // namespace qgrad::quant
