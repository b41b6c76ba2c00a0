#include "core/ops/op_support.h"

namespace qgrad::detail {

void require_float(const Tensor& t, const char* op) {
  check(t.defined(), op, "got an undefined tensor");
  check(t.dtype() == DType::Float32, op, "expects float32 tensors, got ", dtype_name(t.dtype()),
        " of shape ", shape_str(t.shape()), " (convert with .to(DType::Float32))");
}

Tensor compact(const Tensor& t) { return t.detach().contiguous(); }

Tensor unary_forward(UnaryOp op, const Tensor& x, float alpha, float beta) {
  Tensor xc = compact(x);
  Tensor y = empty(x.shape());
  backend_of(x).unary(op, xc.data<float>(), y.data<float>(), y.numel(), alpha, beta);
  return y;
}

Tensor binary_scalar_forward(BinaryOp op, const Tensor& a, float b) {
  Tensor ac = compact(a);
  Tensor out = empty(a.shape());
  backend_of(a).binary_scalar(op, ac.data<float>(), b, out.data<float>(), out.numel());
  return out;
}

Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  require_float(a, name);
  require_float(b, name);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  // A one-element right operand needs no broadcast copy.
  if (b.numel() == 1 && a.shape() == shape) return binary_scalar_forward(op, a, compact(b).data<float>()[0]);
  Tensor ac = compact(a.detach().expand(shape));
  Tensor bc = compact(b.detach().expand(shape));
  Tensor out = empty(shape);
  backend_of(a).binary(op, ac.data<float>(), bc.data<float>(), out.data<float>(), out.numel());
  return out;
}

}  // namespace qgrad::detail
