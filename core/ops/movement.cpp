// concat and stack (see core/ops/movement.h). Work for every dtype: pieces are copied into
// slices of the output with the backend's dtype-generic scatter (through Tensor::copy_); only
// float32 pieces can carry gradients, and the backward hands each piece its slice of g.
// stack is concat of the pieces with a new size-1 axis (unsqueeze is a view, so this costs no
// extra copy and its backward comes for free).
#include "core/ops/movement.h"

#include "core/autograd.h"

namespace qgrad {

namespace {

// Everything concat and stack require of the list apart from the sizes along the joined axis.
void check_pieces(const std::vector<Tensor>& tensors, const char* op) {
  check(!tensors.empty(), op, "needs at least one tensor, got an empty list");
  for (size_t i = 0; i < tensors.size(); ++i) check(tensors[i].defined(), op, "tensor ", i, " is undefined");
  const Tensor& first = tensors[0];
  for (size_t i = 1; i < tensors.size(); ++i) {
    check(tensors[i].dtype() == first.dtype(), op, "tensor ", i, " has dtype ", dtype_name(tensors[i].dtype()),
          " but tensor 0 has ", dtype_name(first.dtype()));
    check(tensors[i].dim() == first.dim(), op, "tensor ", i, " has shape ", shape_str(tensors[i].shape()),
          " (", tensors[i].dim(), " dims) but tensor 0 has shape ", shape_str(first.shape()), " (",
          first.dim(), " dims)");
    check(tensors[i].device() == first.device(), op, "tensors on different devices: ",
          device_name(first.device()), " and ", device_name(tensors[i].device()), " (tensor 0 and tensor ", i, ")");
  }
}

}  // namespace

Tensor concat(const std::vector<Tensor>& tensors, int64_t axis) {
  check_pieces(tensors, "concat");
  const Tensor& first = tensors[0];
  check(first.dim() > 0, "concat", "cannot concatenate zero-dimensional tensors; use stack");
  const int64_t a = normalize_axis(axis, first.dim(), "concat");
  Shape out_shape = first.shape();
  out_shape[a] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    for (int64_t d = 0; d < first.dim(); ++d)
      check(d == a || tensors[i].shape()[d] == first.shape()[d], "concat", "tensor ", i, " has shape ",
            shape_str(tensors[i].shape()), " but tensor 0 has shape ", shape_str(first.shape()),
            ": sizes must match except along axis ", a);
    out_shape[a] += tensors[i].shape()[a];
  }

  Tensor out = empty(out_shape, first.dtype(), first.device());
  std::vector<int64_t> starts;
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    starts.push_back(start);
    out.slice(a, start, start + t.shape()[a]).copy_(t.detach());
    start += t.shape()[a];
  }
  return record(out, "concat", tensors, [a, starts, out_shape](const Tensor& g) {
    std::vector<Tensor> grads;
    for (size_t i = 0; i < starts.size(); ++i)
      grads.push_back(g.slice(a, starts[i], i + 1 < starts.size() ? starts[i + 1] : out_shape[a]));
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t axis) {
  check_pieces(tensors, "stack");
  for (size_t i = 1; i < tensors.size(); ++i)
    check(tensors[i].shape() == tensors[0].shape(), "stack", "tensor ", i, " has shape ",
          shape_str(tensors[i].shape()), " but tensor 0 has shape ", shape_str(tensors[0].shape()),
          ": all shapes must match");
  const int64_t a = normalize_axis(axis, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> pieces;
  for (const Tensor& t : tensors) pieces.push_back(t.unsqueeze(a));
  return concat(pieces, a);
}

}  // namespace qgrad
