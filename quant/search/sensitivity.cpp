#include "quant/search/sensitivity.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/autograd.h"
#include "core/error.h"
#include "nn/conv2d.h"
#include "nn/linear.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qat_modules.h"

namespace qgrad::quant {

namespace {

// Logits of model on images, batch by batch, on the host, row-major [N, K].
struct Logits {
  std::vector<float> values;
  int64_t classes = 0;
};

Logits run(nn::Module& model, const Tensor& images, int64_t batch_size) {
  NoGradGuard no_grad;
  model.eval();
  Logits out;
  const int64_t n = images.shape()[0];
  for (int64_t start = 0; start < n; start += batch_size) {
    const Tensor z = model(images.slice(0, start, std::min(n, start + batch_size)).contiguous());
    check(z.dim() == 2, "measure_sensitivity", "the model's output is ", shape_str(z.shape()),
          ", not logits [N, classes]");
    out.classes = z.shape()[1];
    const auto v = z.to_vector();
    out.values.insert(out.values.end(), v.begin(), v.end());
  }
  return out;
}

Tensor as_tensor(const Logits& l) {
  return from_vector(l.values, {static_cast<int64_t>(l.values.size()) / l.classes, l.classes});
}

double accuracy(const Logits& l, const std::vector<int32_t>& labels) {
  int64_t correct = 0;
  for (size_t n = 0; n < labels.size(); ++n) {
    const float* row = l.values.data() + n * static_cast<size_t>(l.classes);
    correct += std::max_element(row, row + l.classes) - row == labels[n];
  }
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

// Every layer at 8 bits but `layer`, weights and activation at `bits`. All of them are prepared
// (a float conv followed by BatchNorm has no place in a prepared model: prepare folds BN only
// into a quantized conv), and the switches then leave only the FakeQuantize measured computing.
QConfig with_layer_at(const std::string& layer, int bits, ObserverKind observer) {
  QConfig c;
  c.default_config = layer_qconfig(8, 8, observer);
  c.rules.push_back(exact_rule(layer, layer_qconfig(bits, bits, observer)));
  return c;
}

// The prepared model's QAT layer for the float model's index-th quantizable layer (prepare keeps
// their order) and the FakeQuantize closing its output (the first activation FakeQuantize after
// it in module order).
struct Quantized {
  QatLayer* layer = nullptr;
  FakeQuantize* output = nullptr;
};

Quantized find_quantized(nn::Module& prepared, size_t index, size_t count) {
  std::vector<QatLayer*> layers;
  Quantized q;
  for (const auto& [path, m] : prepared.named_modules()) {
    if (auto* l = dynamic_cast<QatLayer*>(m.get())) {
      layers.push_back(l);
      if (layers.size() == index + 1) q.layer = l;
    } else if (auto* fq = dynamic_cast<FakeQuantize*>(m.get());
               fq && q.layer && !q.output && fq != &q.layer->weight_fake_quant()) {
      q.output = fq;
    }
  }
  check(layers.size() == count && q.layer && q.output, "measure_sensitivity", "prepare made ", layers.size(),
        " quantized layers of the model's ", count, " Conv2d/Linear layers");
  return q;
}

}  // namespace

std::vector<QuantizableLayer> quantizable_layers(const nn::Module& model) {
  std::vector<QuantizableLayer> out;
  for (const auto& [name, m] : model.named_modules()) {
    if (const auto* conv = dynamic_cast<const nn::Conv2d*>(m.get()))
      out.push_back({name, conv->weight().numel(), conv->options().out});
    else if (const auto* lin = dynamic_cast<const nn::Linear*>(m.get()))
      out.push_back({name, lin->weight().numel(), lin->options().out});
  }
  return out;
}

LayerQConfig layer_qconfig(int weight_bits, int act_bits, ObserverKind observer) {
  check_bits(weight_bits, "layer_qconfig");
  check_bits(act_bits, "layer_qconfig");
  LayerQConfig c;
  c.weight = {.bits = weight_bits, .symmetric = true, .axis = 0};
  c.activation = {.bits = act_bits, .symmetric = false};
  c.observer = observer;
  return c;
}

QConfigRule exact_rule(const std::string& layer, const LayerQConfig& config) {
  std::string pattern;
  for (char ch : layer) {
    if (ch == '*' || ch == '?' || ch == '[' || ch == '\\') pattern += '\\';
    pattern += ch;
  }
  return {pattern, config};
}

std::string to_string(SensitivityKind kind) { return kind == SensitivityKind::Weight ? "weight" : "activation"; }

const SensitivityEntry& SensitivityTable::at(const std::string& layer, SensitivityKind kind, int b) const {
  for (const SensitivityEntry& e : entries)
    if (e.layer == layer && e.kind == kind && e.bits == b) return e;
  fail("SensitivityTable", "no ", to_string(kind), " entry for layer '", layer, "' at ", b, " bits");
}

LogitError logit_error(const Tensor& reference, const Tensor& logits) {
  check(reference.shape() == logits.shape() && reference.dim() == 2, "logit_error", "logits ",
        shape_str(logits.shape()), " against reference ", shape_str(reference.shape()));
  const int64_t n = reference.shape()[0], k = reference.shape()[1];
  check(n > 0 && k > 0, "logit_error", "no logits");
  const auto f = reference.to_vector(), q = logits.to_vector();
  // log softmax(z)_k = z_k - m - log sum_j exp(z_j - m), m = max_j z_j (no overflow).
  auto log_softmax = [k](const float* z, std::vector<double>& out) {
    const double m = *std::max_element(z, z + k);
    double s = 0;
    for (int64_t j = 0; j < k; ++j) s += std::exp(z[j] - m);
    const double log_s = std::log(s);
    for (int64_t j = 0; j < k; ++j) out[j] = z[j] - m - log_s;
  };
  std::vector<double> lf(k), lq(k);
  LogitError e;
  for (int64_t r = 0; r < n; ++r) {
    const float* zf = f.data() + r * k;
    const float* zq = q.data() + r * k;
    log_softmax(zf, lf);
    log_softmax(zq, lq);
    for (int64_t j = 0; j < k; ++j) {
      e.kl += std::exp(lf[j]) * (lf[j] - lq[j]);
      const double d = static_cast<double>(zf[j]) - zq[j];
      e.mse += d * d;
    }
  }
  e.kl /= static_cast<double>(n);
  e.mse /= static_cast<double>(n * k);
  return e;
}

SensitivityTable measure_sensitivity(const nn::Sequential& model, const Tensor& calibration, const Tensor& held_out,
                                     const Tensor& labels, const SensitivityOptions& options) {
  const char* op = "measure_sensitivity";
  check(calibration.dim() >= 2 && calibration.shape()[0] > 0, op, "no calibration images (", shape_str(calibration.shape()), ")");
  check(held_out.dim() >= 2 && held_out.shape()[0] > 0 && labels.dim() == 1 && labels.shape()[0] == held_out.shape()[0],
        op, "held-out images ", shape_str(held_out.shape()), " and labels ", shape_str(labels.shape()), " do not match");
  check(options.batch_size > 0, op, "batch_size must be > 0, got ", options.batch_size);
  check(!options.bits.empty(), op, "no bit widths to measure");
  for (int b : options.bits) check_bits(b, op);

  SensitivityTable table;
  table.layers = quantizable_layers(model);
  table.bits = options.bits;
  check(!table.layers.empty(), op, "the model has no Conv2d or Linear layer");
  const std::vector<int32_t> y = labels.to_vector<int32_t>();

  // The reference: the model copied by prepare with every FakeQuantize off (BN folded in float).
  const auto reference = prepare(model, with_layer_at(table.layers.front().name, 8, options.observer));
  set_observe(*reference, false);
  set_fake_quant(*reference, false);
  const Tensor ref_logits = as_tensor(run(*reference, calibration, options.batch_size));
  table.float_accuracy = accuracy(run(*reference, held_out, options.batch_size), y);

  for (size_t i = 0; i < table.layers.size(); ++i) {
    const QuantizableLayer& layer = table.layers[i];
    for (int b : options.bits) {
      auto q = prepare(model, with_layer_at(layer.name, b, options.observer));
      run(*q, calibration, options.batch_size);  // observers on, fake quantization off
      set_observe(*q, false);
      const Quantized found = find_quantized(*q, i, table.layers.size());
      for (SensitivityKind kind : {SensitivityKind::Weight, SensitivityKind::Activation}) {
        set_fake_quant(*q, false);
        (kind == SensitivityKind::Weight ? found.layer->weight_fake_quant() : *found.output).set_fake_quant(true);
        const LogitError e = logit_error(ref_logits, as_tensor(run(*q, calibration, options.batch_size)));
        table.entries.push_back({layer.name, kind, b, e.kl, e.mse, accuracy(run(*q, held_out, options.batch_size), y)});
      }
    }
  }
  return table;
}

std::string format_sensitivity(const SensitivityTable& t) {
  std::ostringstream s;
  auto header = [&](const char* what) {
    s << what << "\n" << "layer        kind       ";
    for (int b : t.bits) {
      char cell[16];
      std::snprintf(cell, sizeof cell, "  %6d-bit", b);
      s << cell;
    }
    s << "\n";
  };
  auto rows = [&](auto value, const char* fmt) {
    for (const QuantizableLayer& l : t.layers)
      for (SensitivityKind kind : {SensitivityKind::Weight, SensitivityKind::Activation}) {
        char lead[64];
        std::snprintf(lead, sizeof lead, "%-12s %-10s ", l.name.c_str(), to_string(kind).c_str());
        s << lead;
        for (int b : t.bits) {
          char cell[32];
          std::snprintf(cell, sizeof cell, fmt, value(t.at(l.name, kind, b)));
          s << cell;
        }
        s << "\n";
      }
  };
  header("KL(float || quantized) on the calibration images, one layer quantized at a time:");
  rows([](const SensitivityEntry& e) { return e.kl; }, "  %10.2e");
  char line[96];
  std::snprintf(line, sizeof line, "held-out accuracy (%%), float %.2f%%:", 100.0 * t.float_accuracy);
  header(line);
  rows([](const SensitivityEntry& e) { return 100.0 * e.accuracy; }, "  %10.2f");
  return s.str();
}

}  // namespace qgrad::quant
