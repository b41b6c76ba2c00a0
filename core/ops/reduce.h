// Reductions over axes. `axes` empty means all axes; keepdim keeps reduced axes as size 1.
//   sum:    y = sum_i x_i                 dy/dx_i = 1      (the gradient is broadcast back)
//   mean:   y = sum_i x_i / N             dy/dx_i = 1/N
//   max/min: the gradient goes to the extremal elements, split evenly between ties
//   var:    y = sum_i (x_i - mean)^2 / (N - correction)   (correction 1 = unbiased)
//   argmax: int32 indices of the first maximum along one axis (not differentiable)
#pragma once
#include <vector>

#include "core/tensor.h"

namespace qgrad {

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor max(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor min(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false);
Tensor var(const Tensor& x, const std::vector<int64_t>& axes = {}, bool keepdim = false,
           int64_t correction = 1);
Tensor argmax(const Tensor& x, int64_t axis = -1, bool keepdim = false);

}  // namespace qgrad
