#include "quant/repair/adaround.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/autograd.h"
#include "core/error.h"
#include "core/ops/activation.h"
#include "core/ops/elementwise.h"
#include "core/ops/movement.h"
#include "core/ops/reduce.h"
#include "nn/optim/adam.h"
#include "quant/repair/layer_inputs.h"

namespace qgrad::quant {

namespace {

constexpr float kZeta = 1.1f, kGamma = -0.1f;

// The samples `rows` of pool (along axis 0), as one contiguous batch.
Tensor gather(const Tensor& pool, const std::vector<int64_t>& rows) {
  Shape shape = pool.shape();
  const int64_t per_row = pool.numel() / shape[0];
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out = empty(shape);
  const float* src = pool.data<float>();
  float* dst = out.data<float>();
  for (size_t i = 0; i < rows.size(); ++i)
    std::memcpy(dst + static_cast<int64_t>(i) * per_row, src + rows[i] * per_row, sizeof(float) * per_row);
  return out;
}

// sum((layer(x, w) - layer(x, w_ref))^2) / numel over every input: the mean squared output error.
double output_error(const QatLayer& layer, const std::vector<Tensor>& inputs, const Tensor& w, const Tensor& w_ref) {
  NoGradGuard no_grad;
  double sum = 0;
  int64_t count = 0;
  for (const Tensor& x : inputs) {
    const Tensor d = sub(layer.apply(x, w, Tensor()), layer.apply(x, w_ref, Tensor()));
    sum += static_cast<double>(qgrad::sum(mul(d, d)).item());
    count += d.numel();
  }
  return sum / static_cast<double>(count);
}

// The rectified sigmoid h(V) = clamp(sigmoid(V) (zeta - gamma) + gamma, 0, 1).
Tensor rectified_sigmoid(const Tensor& v) { return clamp(add(mul(sigmoid(v), kZeta - kGamma), kGamma), 0.f, 1.f); }

// beta at step t: regularizer off (0) during the warm-up, then cosine from beta_start to beta_end.
float beta_at(int64_t t, const AdaRoundOptions& o) {
  const auto warm = static_cast<int64_t>(o.warmup * static_cast<float>(o.iterations));
  if (t < warm) return 0.f;
  const double rel = static_cast<double>(t - warm) / static_cast<double>(std::max<int64_t>(1, o.iterations - warm));
  return static_cast<float>(o.beta_end + 0.5 * (o.beta_start - o.beta_end) * (1 + std::cos(rel * M_PI)));
}

}  // namespace

AdaRoundResult adaround_layer(QatLayer& layer, const std::vector<Tensor>& inputs, const AdaRoundOptions& o) {
  check(layer.weight_method() == WeightMethod::Linear, "adaround", "learned rounding needs a linear grid; the layer "
        "has ", to_string(layer.weight_method()), " weights");
  check(o.iterations >= 0 && o.batch > 0 && o.learning_rate > 0 && o.regularization >= 0 && o.warmup >= 0 &&
            o.warmup <= 1,
        "adaround", "bad options: iterations ", o.iterations, ", batch ", o.batch, ", learning rate ",
        o.learning_rate, ", regularization ", o.regularization, ", warm-up ", o.warmup);
  check(!inputs.empty(), "adaround", "no calibration inputs");
  const QParams qp = layer.weight_qparams();
  const Tensor w = layer.effective_weight_bias().first.detach();
  check(!qp.per_channel() || *qp.axis == 0, "adaround", "weight qparams per channel along axis ", *qp.axis,
        " (the output channels, axis 0, expected)");
  // Per element: scale, zero point, floor(W/s) + z and the remainder that starts h.
  const std::vector<float> wv = w.to_vector();
  const int64_t n = w.numel(), row = n / w.size(0);
  std::vector<float> scale(wv.size()), offset(wv.size()), base(wv.size()), v0(wv.size());
  std::vector<int32_t> rtn(wv.size());
  for (int64_t e = 0; e < n; ++e) {
    const size_t c = qp.per_channel() ? static_cast<size_t>(e / row) : 0;
    const double s = qp.scale[c], x = wv[e] / qp.scale[c], fl = std::floor(x);  // x in float, as quantize()
    const double rest = std::clamp(x - fl, 1e-6, 1 - 1e-6);  // h = rest: V = -ln((zeta - gamma) / (rest - gamma) - 1)
    scale[e] = qp.scale[c];
    offset[e] = static_cast<float>(s * qp.zero_point[c]);
    base[e] = static_cast<float>(fl + qp.zero_point[c]);
    v0[e] = static_cast<float>(-std::log((kZeta - kGamma) / (rest - kGamma) - 1));
    rtn[e] = std::clamp(static_cast<int32_t>(std::lround(x)) + qp.zero_point[c], qp.qmin(), qp.qmax());
  }
  const Tensor scale_t = from_vector<float>(scale, w.shape()), offset_t = from_vector<float>(offset, w.shape()),
               base_t = from_vector<float>(base, w.shape());
  const auto soft_weight = [&](const Tensor& h) {
    return sub(mul(clamp(add(base_t, h), static_cast<float>(qp.qmin()), static_cast<float>(qp.qmax())), scale_t),
               offset_t);
  };

  const Tensor pool = concat(inputs, 0).contiguous();
  const int64_t samples = pool.size(0);
  Tensor v = from_vector<float>(v0, w.shape());
  v.requires_grad_(true);
  optim::Adam adam({v}, {.lr = o.learning_rate});
  Generator gen(o.seed);
  std::vector<int64_t> rows(static_cast<size_t>(std::min(o.batch, samples)));
  for (int64_t t = 0; t < o.iterations; ++t) {
    for (int64_t& r : rows) r = static_cast<int64_t>(gen.below(static_cast<uint64_t>(samples)));
    const Tensor x = gather(pool, rows);
    Tensor target;
    {
      NoGradGuard no_grad;
      target = layer.apply(x, w, Tensor());
    }
    const Tensor h = rectified_sigmoid(v);
    const Tensor d = sub(layer.apply(x, soft_weight(h), Tensor()), target);
    Tensor loss = div(sum(mul(d, d)), static_cast<float>(d.numel() / w.size(0)));
    if (const float beta = beta_at(t, o); beta > 0)
      loss = add(loss, add(mul(sum(pow(abs(add(mul(h, 2.f), -1.f)), beta)), -o.regularization),
                           o.regularization * static_cast<float>(n)));
    adam.zero_grad();
    loss.backward();
    adam.step();
  }

  // h rounded: h(V) >= 1/2 exactly when V >= 0.
  const std::vector<float> vv = v.detach().to_vector();
  std::vector<float> hard(wv.size());
  AdaRoundResult result;
  result.weights = n;
  for (int64_t e = 0; e < n; ++e) {
    const auto q = std::clamp(static_cast<int32_t>(base[e]) + (vv[e] >= 0 ? 1 : 0), qp.qmin(), qp.qmax());
    hard[e] = scale[e] * static_cast<float>(q) - offset[e];
    result.changed += q != rtn[e];
  }
  const Tensor w_new = from_vector<float>(hard, w.shape());
  result.rtn_error = output_error(layer, inputs, layer.quantized_weight(w), w);
  result.error = output_error(layer, inputs, w_new, w);
  layer.set_effective_weight(w_new);
  return result;
}

std::vector<AdaRoundResult> adaround(nn::Module& prepared, const std::vector<Tensor>& batches,
                                     const AdaRoundOptions& options) {
  require_calibrated(prepared, batches, "adaround");
  std::vector<AdaRoundResult> out;
  for (const NamedQatLayer& l : qat_layers(prepared)) {
    check(l.layer->weight_method() == WeightMethod::Linear, "adaround", "layer '", l.name, "' has ",
          to_string(l.layer->weight_method()), " weights; learned rounding needs a linear grid");
    AdaRoundResult r = adaround_layer(*l.layer, layer_inputs(prepared, *l.layer, batches, l.name), options);
    r.layer = l.name;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace qgrad::quant
