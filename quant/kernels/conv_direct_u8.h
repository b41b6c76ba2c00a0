// Direct convolution on channels-last uint8 images, for the convolutions im2col + qgemm does not
// take: grouped (depthwise: groups = channels) and dilated ones. The same sum and the same
// requantization as the GEMM path, written as loops, so the two are exact integer arithmetic on
// the same formula and agree bit for bit where both apply.
//   x [N, H, W, C] uint8 (zero point zx), weight [kH, kW, C/g, O] int8 (symmetric), bias [O] int32
//   acc[n, oy, ox, o] = bias[o] + sum_{ky, kx, c} (x[n, iy, ix, g(o) C/g + c] - zx) w[ky, kx, c, o]
//       iy = oy stride - padding + ky dilation,  ix likewise,  g(o) = o / (O/g)
//       (positions outside the image are padding: the real value 0 = code zx, adding 0)
//   y[n, oy, ox, o] = requantize(acc, M0[o], shift[o])          (kernels/requantize.h)
//   Ho = (H + 2 padding - dilation (kH - 1) - 1) / stride + 1, likewise Wo
// Why output channels innermost in the weight: for each tap the loop over o reads x and w
// contiguously when each group has one input and one output channel (depthwise), so the
// compiler vectorizes it; other groupings add one indexed load per output.
#pragma once
#include <cstdint>

#include "quant/kernels/requantize.h"

namespace qgrad::quant {

struct DirectConvShape {
  int64_t batch = 1, height = 1, width = 1, channels = 1, out_channels = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride = 1, padding = 0, dilation = 1, groups = 1;

  int64_t out_h() const { return (height + 2 * padding - dilation * (kernel_h - 1) - 1) / stride + 1; }
  int64_t out_w() const { return (width + 2 * padding - dilation * (kernel_w - 1) - 1) / stride + 1; }
};

// y [batch, out_h, out_w, out_channels]; throws qgrad::Error on an invalid shape.
void conv_direct_u8(const uint8_t* x, const DirectConvShape& shape, int32_t x_zero_point, const int8_t* weight,
                    const int32_t* bias, const Requantization& requant, uint8_t* y);

}  // namespace qgrad::quant
