#include "quant/repair/bias_correction.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/error.h"
#include "core/ops/elementwise.h"
#include "core/ops/reduce.h"
#include "quant/repair/layer_inputs.h"

namespace qgrad::quant {

double BiasCorrection::max_abs() const {
  double m = 0;
  for (double c : correction) m = std::max(m, std::fabs(c));
  return m;
}

FloatWeights float_weights(nn::Module& prepared) {
  NoGradGuard no_grad;
  FloatWeights out;
  for (const NamedQatLayer& l : qat_layers(prepared)) out[l.name] = l.layer->effective_weight_bias().first.clone();
  return out;
}

std::vector<BiasCorrection> correct_bias(nn::Module& prepared, const std::vector<Tensor>& batches,
                                         const FloatWeights& reference) {
  require_calibrated(prepared, batches, "correct_bias");
  std::vector<BiasCorrection> out;
  for (const NamedQatLayer& l : qat_layers(prepared)) {
    const std::vector<Tensor> inputs = layer_inputs(prepared, *l.layer, batches, l.name);
    NoGradGuard no_grad;
    const Tensor w = l.layer->effective_weight_bias().first;
    const auto ref = reference.find(l.name);
    const Tensor w_float = ref == reference.end() ? w : ref->second;
    check(w_float.shape() == w.shape(), "correct_bias", "the reference weight of layer '", l.name, "' is ",
          shape_str(w_float.shape()), ", the layer's ", shape_str(w.shape()));
    const Tensor error = sub(l.layer->quantized_weight(w), w_float);  // E = W_q - W
    const int64_t channels = w.size(0);
    // E[conv(x, E)] per output channel, summed in double over images (and positions).
    std::vector<double> sum(static_cast<size_t>(channels), 0.0);
    int64_t count = 0;  // outputs per channel
    for (const Tensor& x : inputs) {
      const Tensor y = l.layer->apply(x, error, Tensor());  // [N, O] or [N, O, H, W]
      std::vector<int64_t> axes;
      for (int64_t a = 0; a < y.dim(); ++a)
        if (a != 1) axes.push_back(a);
      const std::vector<float> s = qgrad::sum(y, axes).to_vector();
      for (int64_t o = 0; o < channels; ++o) sum[o] += s[o];
      count += y.numel() / channels;
    }
    BiasCorrection c{l.name, std::vector<double>(static_cast<size_t>(channels))};
    std::vector<float> delta(static_cast<size_t>(channels));
    for (int64_t o = 0; o < channels; ++o) {
      c.correction[o] = -sum[o] / static_cast<double>(count);
      delta[o] = static_cast<float>(c.correction[o]);
    }
    l.layer->add_to_bias(from_vector<float>(delta, {channels}));
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace qgrad::quant
