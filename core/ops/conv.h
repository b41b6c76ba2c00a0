// 2-D convolution, NCHW, by im2col + GEMM.
//   x [N, C, H, W], weight [O, C/groups, kH, kW], bias [O] (optional)
//   out [N, O, Ho, Wo],  Ho = (H + 2 padding - dilation (kH - 1) - 1) / stride + 1  (same for W)
// im2col unrolls each receptive field into a column, so the convolution of one image and one
// group is a single GEMM: W_g [O/g, C/g kH kW] @ cols [C/g kH kW, Ho Wo].
#pragma once
#include "core/tensor.h"

namespace qgrad {

struct Conv2dOptions {
  int64_t stride = 1;
  int64_t padding = 0;  // zeros on every side
  int64_t dilation = 1;
  int64_t groups = 1;
};

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dOptions& options = {});

// conv2d with a given number of images unfolded side by side per GEMM (conv2d picks it from the
// shapes, core/ops/conv.cpp). 1 is the per-image algorithm: the reference the grouped path is
// tested against. The same value is used by the backward.
Tensor conv2d_images_per_gemm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                              const Conv2dOptions& options, int64_t images_per_gemm);

}  // namespace qgrad
