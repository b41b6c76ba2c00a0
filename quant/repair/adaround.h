// AdaRound (Nagel et al. 2020, "Up or Down? Adaptive Rounding for Post-Training Quantization"):
// choose for every weight whether it rounds up or down, so the layer's output on calibration
// data stays close to the float layer's, instead of rounding each weight to its nearest level.
// No labels, only calibration images; the grid (scales, zero points, bits) stays as calibrated,
// only which of the two neighbouring codes each weight takes changes.
//
// Round-to-nearest minimizes each weight's own error |w - w_q|, but what matters is the layer's
// output W x: errors of neighbouring weights can cancel or add up in a dot product, and picking
// up or down per weight with the inputs in view does better (the paper: a second-order Taylor
// expansion of the loss turns rounding into this layer-wise reconstruction problem).
// With s the weight scale and z the zero point (per output channel or per tensor),
//   W_soft = s (clamp(floor(W/s) + z + h(V), qmin, qmax) - z)
//   h(V)   = clamp(sigmoid(V) (zeta - gamma) + gamma, 0, 1),   zeta = 1.1, gamma = -0.1
// (the rectified sigmoid: it reaches exactly 0 and 1 with a non-zero gradient before them), and
//   minimize over V   ||W x - W_soft x||^2 / rows  +  lambda sum(1 - |2 h(V) - 1|^beta)
// with Adam (qgrad's autograd through sigmoid, clamp, the layer's own conv2d/linear). The first
// term: the layer's output error on its calibration inputs (squared, summed over output
// channels, averaged over samples and positions; x is what the layer receives in the quantized
// model). The second pushes each h to 0 or 1: it is 0 only there, and beta, annealed from 20 to
// 2 (cosine) after the first 20% of the steps without it, first lets h move freely and then
// forces the decision. V starts where h(V) = W/s - floor(W/s), i.e. at the float weight.
// At the end h is rounded, h = [V >= 0] (h(V) >= 1/2), and the codes
//   q = clamp(floor(W/s) + z + h, qmin, qmax)
// are written back as the layer's effective weight s (q - z): fake quantization with the frozen
// scale, and convert(), give back exactly q (the integer model's format does not change).
// lambda = 0.01, beta 20 -> 2 and the warm-up follow the paper and its reference implementation
// (AIMET); the learning rate is larger (1e-2 rather than 1e-3) because the steps are fewer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/module.h"
#include "quant/fakequant/qat_modules.h"

namespace qgrad::quant {

struct AdaRoundOptions {
  int64_t iterations = 500;  // Adam steps per layer
  int64_t batch = 32;        // calibration samples per step (images; rows for a Linear's 2-D input)
  float learning_rate = 1e-2f;
  float regularization = 0.01f;  // lambda
  float beta_start = 20.f, beta_end = 2.f;
  float warmup = 0.2f;  // the share of the steps before the regularizer starts
  uint64_t seed = 0;    // which samples each step draws
};

struct AdaRoundResult {
  std::string layer;          // its path in the prepared model
  double rtn_error = 0;       // mean squared output error (per output value) of round-to-nearest
  double error = 0;           // the same for the learned rounding, on the same calibration inputs
  int64_t weights = 0;        // how many weights
  int64_t changed = 0;        // how many codes differ from round-to-nearest's
};

// Learns the rounding of one layer (linear weights, frozen weight qparams) for its calibration
// inputs (one tensor per batch, as the layer takes them), writes the codes into the layer's
// effective weight and returns what it did (layer left empty).
AdaRoundResult adaround_layer(QatLayer& layer, const std::vector<Tensor>& inputs, const AdaRoundOptions& options);

// Every quantized layer of a calibrated prepared model (observers frozen, fake quantization on;
// on the CPU), the first first, each on the inputs it receives with the layers before it already
// rounded. Fails naming a layer whose weights are not linear (k-means, power-of-two).
std::vector<AdaRoundResult> adaround(nn::Module& prepared, const std::vector<Tensor>& batches,
                                     const AdaRoundOptions& options = {});

}  // namespace qgrad::quant
