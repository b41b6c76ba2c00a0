#include "core/ops/op_support.h"

namespace qgrad::detail {

void require_float(const Tensor& t, const char* op) {
  check(t.defined(), op, "got an undefined tensor");
  check(t.dtype() == DType::Float32, op, "expects float32 tensors, got ", dtype_name(t.dtype()),
        " of shape ", shape_str(t.shape()), " (convert with .to(DType::Float32))");
}

void require_same_device(const Tensor& a, const Tensor& b, const char* op) {
  check(a.device() == b.device(), op, "tensors on different devices: ", device_name(a.device()), " and ",
        device_name(b.device()), " (move one with .to(Device))");
}

Tensor compact(const Tensor& t) { return t.detach().contiguous(); }

Tensor unary_forward(UnaryOp op, const Tensor& x, float alpha, float beta) {
  Tensor xc = compact(x);
  Tensor y = empty_on(x, x.shape());
  backend_of(x).unary(op, xc.device_data<float>(), y.device_data<float>(), y.numel(), alpha, beta);
  return y;
}

Tensor binary_scalar_forward(BinaryOp op, const Tensor& a, float b) {
  Tensor ac = compact(a);
  Tensor out = empty_on(a, a.shape());
  backend_of(a).binary_scalar(op, ac.device_data<float>(), b, out.device_data<float>(), out.numel());
  return out;
}

Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  require_float(a, name);
  require_float(b, name);
  require_same_device(a, b, name);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  // A one-element right operand needs no broadcast copy (item() reads it from any device).
  if (b.numel() == 1 && a.shape() == shape) return binary_scalar_forward(op, a, b.item());
  Tensor ac = compact(a.detach().expand(shape));
  Tensor bc = compact(b.detach().expand(shape));
  Tensor out = empty_on(a, shape);
  backend_of(a).binary(op, ac.device_data<float>(), bc.device_data<float>(), out.device_data<float>(), out.numel());
  return out;
}

}  // namespace qgrad::detail
