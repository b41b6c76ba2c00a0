// Softmax along one axis, computed stably by subtracting the maximum first:
//   softmax(x)_i     = e^(x_i - m) / sum_j e^(x_j - m),  m = max_j x_j
//   log_softmax(x)_i = x_i - m - log sum_j e^(x_j - m)
// Backward: softmax:     dx = s * (g - sum(g * s))
//           log_softmax: dx = g - softmax(x) * sum(g)
#pragma once
#include "core/tensor.h"

namespace qgrad {

Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

}  // namespace qgrad
