// Choosing and sampling (the article's §3.1), as explicit configuration.
//
// * Which layers are quantized and how: a QConfig maps a module's dotted name in the float model
//   ("0", "3", "features.2") to a LayerQConfig through glob patterns, matched by POSIX
//   fnmatch(3) without flags: '*' any run of characters, '?' one character, "[0-3]" one of a set,
//   a backslash escapes. '*' crosses '.' (no FNM_PATHNAME), as the hand-written matcher before it
//   did, so "features.*" also takes nested names like "features.1.0" — a rule names a subtree.
//   Module names hold no '[' or backslash, so only patterns using those read differently from
//   before. The first matching rule wins, else the default applies. A LayerQConfig
//   gives the weight scheme (bits, symmetric, per-channel axis) and method (linear, k-means or
//   power-of-two levels, quant/math/nonlinear.h; non-linear levels are per tensor, symmetric) and
//   the scheme and observer of the activation at the layer's output.
// * default_qconfig(model, options): every Conv2d/Linear at options' bit widths, except that when
//   fewer than 8 bits are asked the first and the last quantized layer stay at 8 bits (weights
//   and output activation) — they see the raw input and produce the logits, and are the layers
//   a low bit width hurts most while holding few of the weights. The weight method applies to the
//   layers at options' bits; those 8-bit ends keep linear weights.
// * Which samples calibrate the activation ranges: Sampling -> calibration_indices(n), sorted,
//   deterministic (random draws without replacement from a seeded generator).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "nn/module.h"
#include "quant/math/nonlinear.h"
#include "quant/math/qparams.h"

namespace qgrad::quant {

enum class ObserverKind { MinMax, MovingAverage, Percentile, Mse };

// "minmax" | "ema" | "percentile" | "mse"; fails listing the known names.
ObserverKind parse_observer_kind(const std::string& name);
std::string to_string(ObserverKind kind);

struct LayerQConfig {
  bool quantize = true;  // false: the layer stays in float
  QScheme weight{.bits = 8, .symmetric = true, .axis = 0};
  WeightMethod weight_method = WeightMethod::Linear;
  QScheme activation{.bits = 8, .symmetric = false};
  ObserverKind observer = ObserverKind::MinMax;  // for the activation
};

struct QConfigRule {
  std::string pattern;  // glob on the module's dotted name
  LayerQConfig config;
};

struct QConfig {
  LayerQConfig default_config;
  std::vector<QConfigRule> rules;  // first match wins

  const LayerQConfig& for_module(const std::string& name) const;
};

// Whether name matches pattern: fnmatch(pattern, name, 0) == 0 (see above; '*' crosses '.').
bool glob_match(const std::string& pattern, const std::string& name);

struct DefaultQConfigOptions {
  int weight_bits = 8;
  int activation_bits = 8;
  bool symmetric_weights = true;
  bool per_channel = true;
  WeightMethod weight_method = WeightMethod::Linear;
  ObserverKind observer = ObserverKind::MinMax;
  bool keep_ends_8bit = true;  // first/last quantized layer at 8 bits when bits < 8
};

// The config described above for the Conv2d/Linear layers among model's named_modules().
QConfig default_qconfig(const nn::Module& model, const DefaultQConfigOptions& options);

struct Sampling {
  enum class Kind { All, Uniform, Random };
  Kind kind = Kind::All;
  int64_t count = 0;   // how many samples (0: all for All/Random, size/stride for Uniform)
  int64_t stride = 0;  // Uniform: every stride-th sample from 0 (0: size / count)
  uint64_t seed = 0;   // Random
};

// "all" | "uniform" | "random"; fails listing the known names.
Sampling::Kind parse_sampling_kind(const std::string& name);

// The sample indices into a data set of `size` samples, sorted ascending, no repeats. Fails when
// count exceeds what the kind can give or a field is negative.
std::vector<int64_t> calibration_indices(const Sampling& sampling, int64_t size);

}  // namespace qgrad::quant
