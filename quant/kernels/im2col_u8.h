// im2col for quantized convolution on channels-last (NHWC) uint8 images: unrolls each receptive
// field into one row, so the convolution becomes the qgemm A [Ho Wo, kH kW C] x W^T [kH kW C, O].
//   image [H, W, C] uint8 (one image, channels last), out [Ho * Wo, kH * kW * C] row-major,
//   row index oy * Wo + ox, column index (ky * kW + kx) * C + c,
//   Ho = (H + 2 pad_h - kH) / stride_h + 1  (same for W)
// Why channels last: one kernel row of a receptive field, kW pixels x C channels, is ONE
// contiguous run of kW C bytes in the image, so each row of A is kH copies (an NCHW image gives
// C kH runs of only kW bytes: for a 3x3 conv, 3-byte copies). The GEMM's output [Ho Wo, O] is
// again channels last, so layers chain without a transpose.
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

// Throws qgrad::Error naming the bad field unless shape is a valid im2col (also used by the CUDA
// im2col, quant/kernels/cuda/qgemm_cuda.h).
void check_im2col_shape(const Im2colShape& shape);

// Writes shape.rows() x shape.cols() bytes to out; throws qgrad::Error on an invalid shape.
void im2col_u8(const uint8_t* image, const Im2colShape& shape, uint8_t zero_point, uint8_t* out);

}  // namespace qgrad::quant
