#include "quant/repair/equalization.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/autograd.h"
#include "core/error.h"
#include "nn/activations.h"
#include "nn/flatten.h"
#include "nn/pooling.h"
#include "nn/sequential.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/qat_modules.h"

namespace qgrad::quant {

namespace {

constexpr double kTolerance = 1e-4;  // stop when no |ln s_i| exceeds this
constexpr int kMaxSweeps = 100;

// Modules that commute with a positive per-channel scale (and so may sit between a pair).
bool passes_scale(const nn::Module& m) {
  return dynamic_cast<const nn::ReLU*>(&m) || dynamic_cast<const FakeQuantize*>(&m) ||
         dynamic_cast<const nn::MaxPool2d*>(&m) || dynamic_cast<const nn::AvgPool2d*>(&m) ||
         dynamic_cast<const nn::GlobalAvgPool*>(&m) || dynamic_cast<const nn::Flatten*>(&m) ||
         dynamic_cast<const nn::Identity*>(&m);
}

struct Pair {
  EqualizedPair names;
  QatLayer *first, *second;
  // For each element of second's effective weight, the channel between the layers it multiplies.
  std::vector<int64_t> channel_of;
};

// Which channel between the layers each weight of `second` multiplies (see the header); empty
// when the shapes do not line up (then the two are not a pair).
std::vector<int64_t> input_channels(QatLayer& second, int64_t channels) {
  const Tensor w = second.effective_weight_bias().first;
  std::vector<int64_t> of(static_cast<size_t>(w.numel()));
  const int64_t out = w.size(0), row = w.numel() / out;
  if (const auto* conv = dynamic_cast<const QatConv2d*>(&second)) {
    const int64_t groups = conv->options().groups, per_group_in = w.size(1), kernel = row / per_group_in;
    if (conv->options().in != channels) return {};
    for (int64_t e = 0; e < w.numel(); ++e) {
      const int64_t o = e / row, c = (e % row) / kernel;
      of[e] = (o / (out / groups)) * per_group_in + c;
    }
    return of;
  }
  if (row % channels != 0) return {};  // a Linear: channel i's values are row / channels columns
  const int64_t per_channel = row / channels;
  for (int64_t e = 0; e < w.numel(); ++e) of[e] = (e % row) / per_channel;
  return of;
}

void find_pairs(const nn::Module& seq_module, const std::string& prefix, std::vector<Pair>& pairs) {
  const auto* seq = dynamic_cast<const nn::Sequential*>(&seq_module);
  if (!seq) return;
  QatLayer* prev = nullptr;
  std::string prev_name;
  for (const auto& [name, m] : seq->children()) {
    if (auto* layer = dynamic_cast<QatLayer*>(m.get())) {
      if (prev) {
        const int64_t channels = prev->effective_weight_bias().first.size(0);
        std::vector<int64_t> of = input_channels(*layer, channels);
        if (!of.empty()) pairs.push_back({{prev_name, prefix + name, channels}, prev, layer, std::move(of)});
      }
      prev = layer;
      prev_name = prefix + name;
    } else if (!passes_scale(*m)) {
      prev = nullptr;
    }
  }
}

// r_i = max |w[i, ...]| over the rows of w (its output channels).
std::vector<double> row_ranges(const std::vector<float>& w, int64_t rows) {
  std::vector<double> r(static_cast<size_t>(rows), 0.0);
  const int64_t row = static_cast<int64_t>(w.size()) / rows;
  for (int64_t e = 0; e < static_cast<int64_t>(w.size()); ++e)
    r[e / row] = std::max(r[e / row], static_cast<double>(std::fabs(w[e])));
  return r;
}

// Equalizes one pair once; returns the largest |ln s_i|.
double equalize_pair(Pair& p) {
  auto [w1t, b1t] = p.first->effective_weight_bias();
  const Tensor w2t = p.second->effective_weight_bias().first;
  std::vector<float> w1 = w1t.to_vector(), w2 = w2t.to_vector();
  const int64_t channels = p.names.channels, row1 = static_cast<int64_t>(w1.size()) / channels;
  const std::vector<double> r1 = row_ranges(w1, channels);
  std::vector<double> r2(static_cast<size_t>(channels), 0.0);
  for (size_t e = 0; e < w2.size(); ++e) r2[p.channel_of[e]] = std::max(r2[p.channel_of[e]], double{std::fabs(w2[e])});
  std::vector<double> s(static_cast<size_t>(channels), 1.0);
  double moved = 0;
  for (int64_t i = 0; i < channels; ++i) {
    if (r1[i] > 0 && r2[i] > 0) s[i] = std::sqrt(r1[i] / r2[i]);
    moved = std::max(moved, std::fabs(std::log(s[i])));
  }
  for (int64_t e = 0; e < static_cast<int64_t>(w1.size()); ++e) w1[e] = static_cast<float>(w1[e] / s[e / row1]);
  for (size_t e = 0; e < w2.size(); ++e) w2[e] = static_cast<float>(w2[e] * s[p.channel_of[e]]);
  p.first->set_effective_weight(from_vector<float>(w1, w1t.shape()));
  p.second->set_effective_weight(from_vector<float>(w2, w2t.shape()));
  if (b1t.defined()) {  // b1 / s - b1, added to the effective bias
    std::vector<float> b1 = b1t.to_vector(), delta(b1.size());
    for (int64_t i = 0; i < channels; ++i) delta[i] = static_cast<float>(b1[i] / s[i] - b1[i]);
    p.first->add_to_bias(from_vector<float>(delta, b1t.shape()));
  }
  return moved;
}

}  // namespace

Equalization equalize(nn::Module& prepared) {
  for (const auto& [name, m] : prepared.named_modules())
    if (const auto* fq = dynamic_cast<const FakeQuantize*>(m.get()))
      check(!fq->has_qparams(), "equalize", "FakeQuantize '", name,
            "' has observed data already; equalize the prepared model before calibrating it (the ranges "
            "must be observed on the equalized weights)");
  NoGradGuard no_grad;
  std::vector<Pair> pairs;
  find_pairs(prepared, "", pairs);
  for (const auto& [name, m] : prepared.named_modules()) find_pairs(*m, name + ".", pairs);
  Equalization result;
  for (const Pair& p : pairs) result.pairs.push_back(p.names);
  while (!pairs.empty() && result.sweeps < kMaxSweeps) {
    double moved = 0;
    for (Pair& p : pairs) moved = std::max(moved, equalize_pair(p));
    ++result.sweeps;
    if (moved < kTolerance) break;
  }
  return result;
}

double channel_range_evenness(const Tensor& weight) {
  const std::vector<double> r = row_ranges(weight.to_vector(), weight.size(0));
  const double top = *std::max_element(r.begin(), r.end());
  if (top == 0) return 0;
  double sum = 0;
  for (double v : r) sum += v;
  return sum / static_cast<double>(r.size()) / top;
}

}  // namespace qgrad::quant
