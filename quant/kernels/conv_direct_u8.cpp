#include "quant/kernels/conv_direct_u8.h"

#include <vector>

#include "core/error.h"
#include "core/parallel.h"

namespace qgrad::quant {

void conv_direct_u8(const uint8_t* x, const DirectConvShape& s, int32_t zx, const int8_t* weight, const int32_t* bias,
                    const Requantization& r, uint8_t* y) {
  check(s.batch >= 0 && s.channels > 0 && s.out_channels > 0 && s.groups > 0 && s.channels % s.groups == 0 &&
            s.out_channels % s.groups == 0 && s.kernel_h > 0 && s.kernel_w > 0 && s.stride > 0 && s.dilation > 0 &&
            s.padding >= 0 && s.out_h() >= 1 && s.out_w() >= 1,
        "conv_direct_u8", "invalid shape: ", s.channels, " -> ", s.out_channels, " channels, groups ", s.groups,
        ", image ", s.height, "x", s.width, ", kernel ", s.kernel_h, "x", s.kernel_w, ", stride ", s.stride,
        ", padding ", s.padding, ", dilation ", s.dilation);
  const int64_t C = s.channels, O = s.out_channels, cg = C / s.groups, og = O / s.groups;
  const int64_t oh = s.out_h(), ow = s.out_w();
  const bool depthwise = cg == 1 && og == 1;
  // first[o]: the first input channel output o reads (its group's), so the inner loop needs no division.
  std::vector<int64_t> first(static_cast<size_t>(O));
  for (int64_t o = 0; o < O; ++o) first[static_cast<size_t>(o)] = o / og * cg;
  parallel_for(s.batch * oh, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      const int64_t n = row / oh, oy = row % oh;
      const uint8_t* image = x + n * s.height * s.width * C;
      thread_local std::vector<int32_t> acc, centered;
      acc.resize(static_cast<size_t>(O));
      centered.resize(static_cast<size_t>(C));
      for (int64_t ox = 0; ox < ow; ++ox) {
        for (int64_t o = 0; o < O; ++o) acc[static_cast<size_t>(o)] = bias[o];
        for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
          const int64_t iy = oy * s.stride - s.padding + ky * s.dilation;
          if (iy < 0 || iy >= s.height) continue;  // padding adds (zx - zx) w = 0
          for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
            const int64_t ix = ox * s.stride - s.padding + kx * s.dilation;
            if (ix < 0 || ix >= s.width) continue;
            const uint8_t* px = image + (iy * s.width + ix) * C;
            const int8_t* w = weight + (ky * s.kernel_w + kx) * cg * O;
            int32_t* a = acc.data();
            if (depthwise) {
              for (int64_t o = 0; o < O; ++o) a[o] += (static_cast<int32_t>(px[o]) - zx) * w[o];
              continue;
            }
            for (int64_t c = 0; c < C; ++c) centered[static_cast<size_t>(c)] = static_cast<int32_t>(px[c]) - zx;
            for (int64_t c = 0; c < cg; ++c)
              for (int64_t o = 0; o < O; ++o) a[o] += centered[static_cast<size_t>(first[static_cast<size_t>(o)] + c)] * w[c * O + o];
          }
        }
        uint8_t* out = y + (row * ow + ox) * O;
        for (int64_t o = 0; o < O; ++o) {
          const int64_t j = r.per_channel ? o : 0;
          out[o] = requantize(acc[static_cast<size_t>(o)], r.multiplier[j], r.shift[j], r.out_zero_point, r.qmin, r.qmax);
        }
      }
    }
  });
}

}  // namespace qgrad::quant
