// 2-D pooling over NCHW tensors, square windows.
//   out [N, C, Ho, Wo],  Ho = (H + 2 padding - kernel) / stride + 1
// max_pool2d: backward routes each output's gradient to the (first) argmax of its window;
//             padding counts as -infinity.
// avg_pool2d: backward spreads each output's gradient evenly over its window; padded zeros are
//             counted in the divisor (PyTorch's count_include_pad=True).
#pragma once
#include "core/tensor.h"

namespace qgrad {

struct Pool2dOptions {
  int64_t kernel = 2;
  int64_t stride = 0;  // 0 means stride = kernel
  int64_t padding = 0;
};

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options = {});
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options = {});

}  // namespace qgrad
