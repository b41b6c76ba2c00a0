// Max pooling of channels-last (NHWC) uint8 activations, square windows.
//   x [N, H, W, C] -> y [N, Ho, Wo, C],  Ho = (H + 2 padding - kernel) / stride + 1 (same for W)
//   y[i][oy][ox][c] = max over the window's in-bounds pixels (y, x) of x[i][y][x][c]
// The max of the uint8 codes is the max of the real values (q -> s (q - zp) is monotone), so
// input and output share their qparams. Padding never wins; every window holds at least one
// real pixel (padding < kernel).
// Why channels last makes it cheap: one input row is a contiguous vector of W C bytes, and a
// window's max is elementwise maxima of such vectors (a loop the compiler turns into pmaxub, 16
// bytes per instruction with plain SSE2), however few channels there are (LeNet's first conv
// has 6).
#pragma once
#include <cstdint>

#include "core/ops/pool.h"

namespace qgrad::quant {

struct MaxPoolShape {
  int64_t batch = 1;
  int64_t height = 1;
  int64_t width = 1;
  int64_t channels = 1;
  Pool2dOptions options;

  int64_t stride() const { return options.stride > 0 ? options.stride : options.kernel; }
  int64_t out_h() const { return (height + 2 * options.padding - options.kernel) / stride() + 1; }
  int64_t out_w() const { return (width + 2 * options.padding - options.kernel) / stride() + 1; }
};

// Throws qgrad::Error naming the bad field unless shape is a valid pooling (also used by the
// CUDA max-pool, quant/kernels/cuda/qgemm_cuda.h).
void check_max_pool_shape(const MaxPoolShape& shape);

// Writes batch x out_h() x out_w() x channels bytes to y; throws qgrad::Error on an invalid shape.
void max_pool2d_u8(const uint8_t* x, const MaxPoolShape& shape, uint8_t* y);

}  // namespace qgrad::quant
