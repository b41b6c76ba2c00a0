// Shared plumbing for op implementations (not part of the public API): input checks and the
// forward helpers that turn tensors into the compact buffers the Backend works on.
#pragma once
#include "core/autograd.h"
#include "core/backend/backend.h"
#include "core/tensor.h"

namespace qgrad::detail {

// Fails unless t is a defined float32 tensor: "qgrad::<op>: expects float32, got int8 ...".
void require_float(const Tensor& t, const char* op);

// A contiguous, graph-free float32 tensor with t's values (t itself when already contiguous).
Tensor compact(const Tensor& t);

inline Backend& backend_of(const Tensor& t) { return backend_for(t.device()); }

// Fails unless a and b (both defined) live on one device:
// "qgrad::add: tensors on different devices: cpu and cuda".
void require_same_device(const Tensor& a, const Tensor& b, const char* op);

// An uninitialized float32 (or dtype) tensor on like's device.
inline Tensor empty_on(const Tensor& like, const Shape& shape, DType dtype = DType::Float32) {
  return empty(shape, dtype, like.device());
}

// y = f(x) through the backend, no graph recorded.
Tensor unary_forward(UnaryOp op, const Tensor& x, float alpha = 0.f, float beta = 0.f);
// a op b with broadcasting, no graph recorded.
Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b, const char* name);
Tensor binary_scalar_forward(BinaryOp op, const Tensor& a, float b);

}  // namespace qgrad::detail

namespace qgrad::detail {

// How a reduction over some axes maps onto the backend's [outer, inner] row reduction.
struct ReducePlan {
  std::vector<bool> reduced;         // per input axis
  std::vector<int64_t> kept_axes, reduced_axes, permutation;  // permutation = kept ++ reduced
  Shape out_shape, keepdim_shape;
  int64_t outer = 1, inner = 1;
};

// axes empty = all axes. Fails on a bad or repeated axis, naming op.
ReducePlan plan_reduce(const Shape& shape, const std::vector<int64_t>& axes, const char* op);
// The reduction's values (no graph), shaped keepdim ? keepdim_shape : out_shape.
Tensor reduce_forward(ReduceOp op, const Tensor& x, const ReducePlan& plan, bool keepdim);

}  // namespace qgrad::detail
