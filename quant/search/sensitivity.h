// Sensitivity analysis: how much each layer's quantization alone hurts the model, measured.
// For every quantizable layer L (Conv2d, Linear) and bit width b, with every other layer in float
// (the whole model is prepared, BatchNorm folded into its conv, and every FakeQuantize but the
// measured one switched off; L's rule in the QConfig gives it b bits):
//   weight     L's weights fake-quantized at b bits (symmetric, per output channel), every
//              activation float — including L's input and output FakeQuantize, switched off;
//   activation L's output activation (after its fused ReLU) at b bits, observed on the
//              calibration images, L's weights and input float.
// One prepare + calibration per (L, b) serves both measurements (the switches pick which
// FakeQuantize computes), so the cost is layers x bits calibrations, not twice that; the float
// logits on the calibration images (the prepared model with every FakeQuantize off) are computed
// once.
// The error of a quantized model q against the float model f, on the N calibration images:
//   KL  = 1/N sum_n sum_k p_f[n,k] (log p_f[n,k] - log p_q[n,k]),  p = softmax(logits)
//   MSE = 1/(N K) sum_n sum_k (z_f[n,k] - z_q[n,k])^2              z: logits [N, K]
// KL is scale-free (it compares the predicted distributions, which is what a classifier is used
// for) and is what the mixed-precision search adds up (quant/search/mixed_precision.h); MSE is
// reported beside it. Accuracy is measured on separate held-out images, for the reader only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/sequential.h"
#include "quant/fakequant/qconfig.h"

namespace qgrad::quant {

// A Conv2d or Linear of the float model, by its dotted name, with what its storage depends on.
struct QuantizableLayer {
  std::string name;
  int64_t weights = 0;   // weight elements
  int64_t channels = 0;  // output channels: one scale and one int32 bias each in the integer model
};

// The Conv2d/Linear layers among model's named_modules(), in order.
std::vector<QuantizableLayer> quantizable_layers(const nn::Module& model);

// A layer's config as the search uses it: weights symmetric per output channel (what convert
// takes) at weight_bits, its output activation unsigned at act_bits.
LayerQConfig layer_qconfig(int weight_bits, int act_bits, ObserverKind observer);
// The rule naming exactly this layer (glob characters in the name escaped).
QConfigRule exact_rule(const std::string& layer, const LayerQConfig& config);

enum class SensitivityKind { Weight, Activation };
std::string to_string(SensitivityKind kind);  // "weight" | "activation"

struct SensitivityEntry {
  std::string layer;
  SensitivityKind kind;
  int bits;
  double kl = 0, mse = 0;  // against the float logits, on the calibration images
  double accuracy = 0;     // on the held-out images
};

struct SensitivityOptions {
  std::vector<int> bits{2, 3, 4, 5, 6, 7, 8};
  ObserverKind observer = ObserverKind::MinMax;  // of the activation
  int64_t batch_size = 500;                      // images per forward
};

struct SensitivityTable {
  std::vector<QuantizableLayer> layers;
  std::vector<int> bits;
  double float_accuracy = 0;  // on the held-out images
  std::vector<SensitivityEntry> entries;  // layers x kinds x bits

  // The entry of (layer, kind, bits); fails naming them when there is none.
  const SensitivityEntry& at(const std::string& layer, SensitivityKind kind, int bits) const;
};

// The table for model (eval mode; not modified). calibration: normalized images [N, ...] that
// calibrate the activation ranges and on which KL and MSE are measured; held_out / labels
// (int32 [M]): where accuracy is measured.
SensitivityTable measure_sensitivity(const nn::Sequential& model, const Tensor& calibration, const Tensor& held_out,
                                     const Tensor& labels, const SensitivityOptions& options = {});

// The error measures above for logits [N, K] against reference logits (accumulated in double).
struct LogitError {
  double kl = 0, mse = 0;
};
LogitError logit_error(const Tensor& reference, const Tensor& logits);

// The table as text: one row per layer and kind, one column per bit width, KL in each cell
// (then the same with accuracy).
std::string format_sensitivity(const SensitivityTable& table);

}  // namespace qgrad::quant
