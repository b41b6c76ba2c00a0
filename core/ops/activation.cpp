#include "core/ops/activation.h"

#include "core/ops/elementwise.h"
#include "core/ops/op_support.h"

namespace qgrad {

using detail::require_float;
using detail::unary_forward;

namespace {
using Grads = std::vector<Tensor>;
}

Tensor relu(const Tensor& x) {
  require_float(x, "relu");
  return record(unary_forward(UnaryOp::Relu, x), "relu", {x},
                [x = x.detach()](const Tensor& g) { return Grads{mul(g, gt(x, 0.f))}; });
}

Tensor leaky_relu(const Tensor& x, float slope) {
  require_float(x, "leaky_relu");
  return record(unary_forward(UnaryOp::LeakyRelu, x, slope), "leaky_relu", {x},
                [x = x.detach(), slope](const Tensor& g) {
                  // slope' = 1 where x > 0, else slope:  slope + (1 - slope) [x > 0]
                  return Grads{mul(g, add(mul(gt(x, 0.f), 1.f - slope), slope))};
                });
}

Tensor sigmoid(const Tensor& x) {
  require_float(x, "sigmoid");
  Tensor s = unary_forward(UnaryOp::Sigmoid, x);
  return record(s, "sigmoid", {x}, [s = s.detach()](const Tensor& g) {
    return Grads{mul(g, mul(s, add(neg(s), 1.f)))};
  });
}

Tensor tanh(const Tensor& x) {
  require_float(x, "tanh");
  Tensor t = unary_forward(UnaryOp::Tanh, x);
  return record(t, "tanh", {x}, [t = t.detach()](const Tensor& g) {
    return Grads{mul(g, add(neg(mul(t, t)), 1.f))};
  });
}

Tensor gelu(const Tensor& x) {
  require_float(x, "gelu");
  return record(unary_forward(UnaryOp::Gelu, x), "gelu", {x}, [x = x.detach()](const Tensor& g) {
    return Grads{mul(g, unary_forward(UnaryOp::GeluGrad, x))};
  });
}

}  // namespace qgrad
