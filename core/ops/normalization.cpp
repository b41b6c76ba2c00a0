#include "core/ops/normalization.h"

#include <cmath>
#include <vector>

#include "core/backend/cpu_batch_norm.h"
#include "core/ops/elementwise.h"
#include "core/ops/op_support.h"
#include "core/ops/reduce.h"

namespace qgrad {

namespace {

using Grads = std::vector<Tensor>;

// x as [N, C, S].
struct Layout {
  int64_t N = 0, C = 0, S = 0;
};

Layout check_inputs(const Tensor& x, const Tensor& weight, const Tensor& bias, const char* op) {
  detail::require_float(x, op);
  check(x.dim() >= 2, op, "expects input [N, C, ...], got ", shape_str(x.shape()));
  const Layout l{x.size(0), x.size(1), x.size(1) == 0 || x.size(0) == 0 ? 0 : x.numel() / (x.size(0) * x.size(1))};
  for (const auto& [t, name] : {std::pair{&weight, "weight"}, std::pair{&bias, "bias"}}) {
    if (!t->defined()) continue;
    detail::require_float(*t, op);
    check(t->shape() == Shape{l.C}, op, name, " must be [", l.C, "] for input ", shape_str(x.shape()),
          ", got ", shape_str(t->shape()));
  }
  return l;
}

void check_training_count(const Layout& l, const Tensor& x, const char* op) {
  check(l.N * l.S > 1, op, "needs more than 1 value per channel in training, got input ", shape_str(x.shape()));
}

// The axes a channel's statistics run over: 0 and 2.., and the shape [1, C, 1, ...] of a
// per-channel vector broadcast against x.
std::vector<int64_t> statistic_axes(const Tensor& x) {
  std::vector<int64_t> axes{0};
  for (int64_t a = 2; a < x.dim(); ++a) axes.push_back(a);
  return axes;
}

Shape channel_shape(const Tensor& x) {
  Shape s(x.dim(), 1);
  s[1] = x.size(1);
  return s;
}

std::vector<float> values_or(const Tensor& t, int64_t C, float fill) {
  return t.defined() ? detail::compact(t).to_vector() : std::vector<float>(C, fill);
}

bool is_cpu(const Tensor& x) { return x.device() == Device::CPU; }

}  // namespace

BatchNormOutput batch_norm_training_reference(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                              float eps) {
  const Layout l = check_inputs(x, weight, bias, "batch_norm");
  check_training_count(l, x, "batch_norm");
  const std::vector<int64_t> axes = statistic_axes(x);
  Tensor mu = mean(x, axes, true);
  Tensor centered = sub(x, mu);
  Tensor var = mean(mul(centered, centered), axes, true);
  Tensor y = div(centered, sqrt(add(var, eps)));
  if (weight.defined()) y = mul(y, weight.reshape(channel_shape(x)));
  if (bias.defined()) y = add(y, bias.reshape(channel_shape(x)));
  return {y, mu.detach().reshape({l.C}), var.detach().reshape({l.C})};
}

Tensor batch_norm_eval_reference(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& weight,
                                 const Tensor& bias, float eps) {
  check_inputs(x, weight, bias, "batch_norm");
  const Shape cs = channel_shape(x);
  Tensor y = div(sub(x, mean.reshape(cs)), sqrt(add(var.reshape(cs), eps)));
  if (weight.defined()) y = mul(y, weight.reshape(cs));
  if (bias.defined()) y = add(y, bias.reshape(cs));
  return y;
}

BatchNormOutput batch_norm_training(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  if (!is_cpu(x)) return batch_norm_training_reference(x, weight, bias, eps);
  const Layout l = check_inputs(x, weight, bias, "batch_norm");
  check_training_count(l, x, "batch_norm");
  Tensor xc = detail::compact(x);
  Tensor mu = empty({l.C}), var = empty({l.C});
  cpu::channel_moments(xc.data<float>(), l.N, l.C, l.S, mu.data<float>(), var.data<float>());

  // y = a x + d per channel: a = weight istd, d = bias - mean a.
  const std::vector<float> w = values_or(weight, l.C, 1.f), b = values_or(bias, l.C, 0.f);
  const float *m = mu.data<float>(), *v = var.data<float>();
  std::vector<float> istd(l.C), a(l.C), d(l.C);
  for (int64_t c = 0; c < l.C; ++c) {
    istd[c] = 1.f / std::sqrt(v[c] + eps);
    a[c] = w[c] * istd[c];
    d[c] = b[c] - m[c] * a[c];
  }
  Tensor y = empty(x.shape());
  cpu::channel_linear(xc.data<float>(), a.data(), nullptr, nullptr, d.data(), l.N, l.C, l.S, y.data<float>());

  y = record(y, "batch_norm", {x, weight, bias},
             [l, xc, mu, w, istd, need_w = weight.defined() && weight.requires_grad(),
              need_b = bias.defined() && bias.requires_grad()](const Tensor& g) {
               Tensor gc = detail::compact(g);
               std::vector<float> sum_g(l.C), sum_gx(l.C);  // sum g, sum g (x - mean)
               cpu::channel_sums(gc.data<float>(), xc.data<float>(), mu.data<float>(), l.N, l.C, l.S,
                                 sum_g.data(), sum_gx.data());
               // dx = A g + B x + D per channel (the header's formula, expanded).
               const float n = static_cast<float>(l.N * l.S);
               const float* m = mu.data<float>();
               std::vector<float> A(l.C), B(l.C), D(l.C), dw(l.C);
               for (int64_t c = 0; c < l.C; ++c) {
                 A[c] = w[c] * istd[c];
                 B[c] = -A[c] * istd[c] * istd[c] * sum_gx[c] / n;
                 D[c] = -A[c] * sum_g[c] / n - B[c] * m[c];
                 dw[c] = istd[c] * sum_gx[c];
               }
               Tensor dx = empty(xc.shape());
               cpu::channel_linear(gc.data<float>(), A.data(), xc.data<float>(), B.data(), D.data(), l.N,
                                   l.C, l.S, dx.data<float>());
               return Grads{dx, need_w ? from_vector(dw, {l.C}) : Tensor(),
                            need_b ? from_vector(sum_g, {l.C}) : Tensor()};
             });
  return {y, mu, var};
}

Tensor batch_norm_eval(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& weight,
                       const Tensor& bias, float eps) {
  if (!is_cpu(x)) return batch_norm_eval_reference(x, mean, var, weight, bias, eps);
  const Layout l = check_inputs(x, weight, bias, "batch_norm");
  for (const auto& [t, name] : {std::pair{&mean, "mean"}, std::pair{&var, "var"}})
    check(t->defined() && t->shape() == Shape{l.C}, "batch_norm", name, " must be [", l.C, "] for input ",
          shape_str(x.shape()), ", got ", t->defined() ? shape_str(t->shape()) : std::string("undefined"));
  // a and d are [C] tensors built from generic ops, so weight and bias get their gradients
  // through them; only the map over x is fused.
  Tensor a = 1.f / sqrt(add(var.detach(), eps));
  if (weight.defined()) a = mul(a, weight);
  Tensor d = neg(mul(mean.detach(), a));
  if (bias.defined()) d = add(d, bias);
  Tensor xc = detail::compact(x), ac = detail::compact(a), dc = detail::compact(d);
  Tensor y = empty(x.shape());
  cpu::channel_linear(xc.data<float>(), ac.data<float>(), nullptr, nullptr, dc.data<float>(), l.N, l.C, l.S,
                      y.data<float>());
  return record(y, "batch_norm_eval", {x, a, d}, [l, xc, ac, need_x = x.requires_grad()](const Tensor& g) {
    Tensor gc = detail::compact(g);
    std::vector<float> sum_g(l.C), sum_gx(l.C), zero(l.C, 0.f);
    cpu::channel_sums(gc.data<float>(), xc.data<float>(), zero.data(), l.N, l.C, l.S, sum_g.data(), sum_gx.data());
    Tensor dx;
    if (need_x) {
      dx = empty(xc.shape());
      cpu::channel_linear(gc.data<float>(), ac.data<float>(), nullptr, nullptr, zero.data(), l.N, l.C, l.S,
                          dx.data<float>());
    }
    return Grads{dx, from_vector(sum_gx, {l.C}), from_vector(sum_g, {l.C})};
  });
}

}  // namespace qgrad
