#include "core/ops/elementwise.h"

#include "core/ops/op_support.h"

namespace qgrad {

using detail::binary_forward;
using detail::binary_scalar_forward;
using detail::require_float;
using detail::unary_forward;

namespace {
using Grads = std::vector<Tensor>;
}

// --- binary, broadcasting -------------------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Add, a, b, "add");
  return record(out, "add", {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(g, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Sub, a, b, "sub");
  return record(out, "sub", {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return Grads{sum_to(g, sa), sum_to(neg(g), sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Mul, a, b, "mul");
  return record(out, "mul", {a, b}, [a = a.detach(), b = b.detach()](const Tensor& g) {
    return Grads{sum_to(mul(g, b), a.shape()), sum_to(mul(g, a), b.shape())};
  });
}

// d(a/b)/da = 1/b,  d(a/b)/db = -a/b^2
Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Div, a, b, "div");
  return record(out, "div", {a, b}, [a = a.detach(), b = b.detach()](const Tensor& g) {
    Tensor ga = div(g, b);
    return Grads{sum_to(ga, a.shape()), sum_to(neg(mul(ga, div(a, b))), b.shape())};
  });
}

// d(a^b)/da = b a^(b-1),  d(a^b)/db = a^b ln a
Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(BinaryOp::Pow, a, b, "pow");
  // ln a is only defined for a > 0, so d/db is computed only when b needs it.
  return record(out, "pow", {a, b},
                [a = a.detach(), b = b.detach(), out = out.detach(), want_b = b.requires_grad()](const Tensor& g) {
                  Tensor ga = mul(g, mul(b, pow(a, add(b, -1.f))));
                  Tensor gb = want_b ? mul(g, mul(out, log(a))) : Tensor();
                  return Grads{sum_to(ga, a.shape()), gb.defined() ? sum_to(gb, b.shape()) : gb};
                });
}

// The winner takes the gradient; on a tie each side gets half (PyTorch's rule), so the
// gradient of maximum(x, x) is still exactly the gradient of x.
static Tensor select_backward(const char* name, BinaryOp win, Tensor out, const Tensor& a,
                              const Tensor& b) {
  return record(out, name, {a, b}, [win, a = a.detach(), b = b.detach()](const Tensor& g) {
    Tensor tie = mul(binary_forward(BinaryOp::Eq, a, b, "maximum"), 0.5f);
    Tensor wa = add(binary_forward(win, a, b, "maximum"), tie);
    Tensor wb = add(binary_forward(win, b, a, "maximum"), tie);
    return Grads{sum_to(mul(g, wa), a.shape()), sum_to(mul(g, wb), b.shape())};
  });
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  return select_backward("maximum", BinaryOp::Gt, binary_forward(BinaryOp::Maximum, a, b, "maximum"), a, b);
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  return select_backward("minimum", BinaryOp::Lt, binary_forward(BinaryOp::Minimum, a, b, "minimum"), a, b);
}

// --- with a scalar --------------------------------------------------------------------------

Tensor add(const Tensor& a, float b) {
  require_float(a, "add");
  return record(binary_scalar_forward(BinaryOp::Add, a, b), "add_scalar", {a},
                [](const Tensor& g) { return Grads{g}; });
}

Tensor mul(const Tensor& a, float b) {
  require_float(a, "mul");
  return record(binary_scalar_forward(BinaryOp::Mul, a, b), "mul_scalar", {a},
                [b](const Tensor& g) { return Grads{mul(g, b)}; });
}

Tensor div(const Tensor& a, float b) {
  require_float(a, "div");
  return record(binary_scalar_forward(BinaryOp::Div, a, b), "div_scalar", {a},
                [b](const Tensor& g) { return Grads{div(g, b)}; });
}

// d(x^p)/dx = p x^(p-1)
Tensor pow(const Tensor& a, float p) {
  require_float(a, "pow");
  return record(unary_forward(UnaryOp::PowScalar, a, p), "pow_scalar", {a},
                [p, a = a.detach()](const Tensor& g) { return Grads{mul(g, mul(pow(a, p - 1), p))}; });
}

// --- unary ----------------------------------------------------------------------------------

Tensor neg(const Tensor& x) {
  require_float(x, "neg");
  return record(unary_forward(UnaryOp::Neg, x), "neg", {x}, [](const Tensor& g) { return Grads{neg(g)}; });
}

// d e^x = e^x
Tensor exp(const Tensor& x) {
  require_float(x, "exp");
  Tensor out = unary_forward(UnaryOp::Exp, x);
  return record(out, "exp", {x}, [out = out.detach()](const Tensor& g) { return Grads{mul(g, out)}; });
}

// d ln x = 1/x
Tensor log(const Tensor& x) {
  require_float(x, "log");
  return record(unary_forward(UnaryOp::Log, x), "log", {x},
                [x = x.detach()](const Tensor& g) { return Grads{div(g, x)}; });
}

// d sqrt(x) = 1 / (2 sqrt(x))
Tensor sqrt(const Tensor& x) {
  require_float(x, "sqrt");
  Tensor out = unary_forward(UnaryOp::Sqrt, x);
  return record(out, "sqrt", {x},
                [out = out.detach()](const Tensor& g) { return Grads{div(mul(g, 0.5f), out)}; });
}

Tensor abs(const Tensor& x) {
  require_float(x, "abs");
  return record(unary_forward(UnaryOp::Abs, x), "abs", {x}, [x = x.detach()](const Tensor& g) {
    return Grads{mul(g, unary_forward(UnaryOp::Sign, x))};
  });
}

Tensor clamp(const Tensor& x, float lo, float hi) {
  require_float(x, "clamp");
  check(lo <= hi, "clamp", "lower bound ", lo, " is above upper bound ", hi);
  return record(unary_forward(UnaryOp::Clamp, x, lo, hi), "clamp", {x},
                [x = x.detach(), lo, hi](const Tensor& g) {
                  Tensor inside = mul(binary_scalar_forward(BinaryOp::Ge, x, lo),
                                      binary_scalar_forward(BinaryOp::Le, x, hi));
                  return Grads{mul(g, inside)};
                });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  require_float(cond, "where");
  require_float(a, "where");
  require_float(b, "where");
  detail::require_same_device(cond, a, "where");
  detail::require_same_device(a, b, "where");
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor c = detail::compact(cond.detach().expand(shape));
  Tensor ac = detail::compact(a.detach().expand(shape));
  Tensor bc = detail::compact(b.detach().expand(shape));
  Tensor out = detail::empty_on(a, shape);
  detail::backend_of(a).where(c.device_data<float>(), ac.device_data<float>(), bc.device_data<float>(), out.device_data<float>(), out.numel());
  return record(out, "where", {a, b}, [c, sa = a.shape(), sb = b.shape()](const Tensor& g) {
    Tensor zero = zeros({}, DType::Float32, g.device());
    return Grads{sum_to(where(c, g, zero), sa), sum_to(where(c, zero, g), sb)};
  });
}

// --- comparisons (not differentiable) -------------------------------------------------------

Tensor eq(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Eq, a, b, "eq"); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Gt, a, b, "gt"); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Ge, a, b, "ge"); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Lt, a, b, "lt"); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_forward(BinaryOp::Le, a, b, "le"); }
Tensor gt(const Tensor& a, float b) { require_float(a, "gt"); return binary_scalar_forward(BinaryOp::Gt, a, b); }
Tensor lt(const Tensor& a, float b) { require_float(a, "lt"); return binary_scalar_forward(BinaryOp::Lt, a, b); }

// --- operators ------------------------------------------------------------------------------

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, float b) { return add(a, b); }
Tensor operator-(const Tensor& a, float b) { return add(a, -b); }
Tensor operator*(const Tensor& a, float b) { return mul(a, b); }
Tensor operator/(const Tensor& a, float b) { return div(a, b); }
Tensor operator+(float a, const Tensor& b) { return add(b, a); }
Tensor operator-(float a, const Tensor& b) { return add(neg(b), a); }
Tensor operator*(float a, const Tensor& b) { return mul(b, a); }
Tensor operator/(float a, const Tensor& b) { return mul(pow(b, -1.0f), a); }

}  // namespace qgrad
