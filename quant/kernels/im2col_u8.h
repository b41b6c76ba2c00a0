// im2col for quantized convolution: unrolls each receptive field of a uint8 image into one row,
// so the convolution becomes the qgemm A [Ho Wo, C kH kW] x W^T [C kH kW, O].
//   image [C, H, W] uint8 (one image, NCHW), out [Ho * Wo, C * kH * kW] row-major, row index
//   oy * Wo + ox, column index (c * kH + ky) * kW + kx (the order of a [O, C, kH, kW] weight),
//   Ho = (H + 2 pad_h - kH) / stride_h + 1  (same for W)
// Padding is filled with the activation ZERO POINT, not 0: a uint8 activation q stands for the
// real value scale * (q - zero_point), so the byte that means real 0.0 is zero_point. Writing
// byte 0 would pad with -scale * zero_point, a wrong value that the GEMM's zero-point fold
// (which subtracts za * colsum for every k, padded or not) would not cancel.
#pragma once
#include <cstdint>

namespace qgrad::quant {

struct Im2colShape {
  int64_t channels = 1;
  int64_t height = 1;
  int64_t width = 1;
  int64_t kernel_h = 1;
  int64_t kernel_w = 1;
  int64_t stride_h = 1;
  int64_t stride_w = 1;
  int64_t pad_h = 0;
  int64_t pad_w = 0;

  int64_t out_h() const { return (height + 2 * pad_h - kernel_h) / stride_h + 1; }
  int64_t out_w() const { return (width + 2 * pad_w - kernel_w) / stride_w + 1; }
  int64_t rows() const { return out_h() * out_w(); }
  int64_t cols() const { return channels * kernel_h * kernel_w; }
};

// Writes shape.rows() x shape.cols() bytes to out; throws qgrad::Error on an invalid shape.
void im2col_u8(const uint8_t* image, const Im2colShape& shape, uint8_t zero_point, uint8_t* out);

}  // namespace qgrad::quant
