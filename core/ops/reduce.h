// Reductions over axes. `axes` empty means all axes; keepdim keeps reduced axes as size 1.
//   sum:  y = sum_i x_i                dy/dx_i = 1      (the gradient is broadcast back)
//   mean: y = sum_i x_i / N            dy/dx_i = 1/N
#pragma once
#include <vector>

#include "core/tensor.h"

namespace qgrad {

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);

}  // namespace qgrad
