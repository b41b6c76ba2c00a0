// Joining tensors (the views — reshape, permute, slice, ... — are methods of Tensor).
//   concat: joins along an existing axis; all other sizes must match.
//   stack:  joins along a new axis; all shapes must match.
// Backward slices the gradient back into the pieces.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace qgrad {

Tensor concat(const std::vector<Tensor>& tensors, int64_t axis = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t axis = 0);

}  // namespace qgrad
