// StateDict: a flat name -> Tensor map, the unit a Module, an Optimizer and a checkpoint file
// exchange. Names are dotted paths ("features.0.weight", "optimizer.0.exp_avg"); std::map keeps
// them sorted, so saving the same state twice writes the same bytes.
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"

namespace qgrad::nn {

using StateDict = std::map<std::string, Tensor>;

// The tensor `name` from sd, checked to have `shape` and `dtype`; each problem is a qgrad::Error
// from `op` naming the tensor ("missing tensor 'fc.weight'", "... has shape [2] but ... [3]").
const Tensor& require_entry(const StateDict& sd, const std::string& name, const Shape& shape,
                            DType dtype, const char* op);

// Copies src's values into dst in place (no graph), so every handle to dst sees them; the
// shapes and dtypes must already agree (see require_entry).
void assign(Tensor& dst, const Tensor& src);

}  // namespace qgrad::nn
