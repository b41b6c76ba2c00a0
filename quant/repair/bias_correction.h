// Bias correction (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and
// Bias Correction", §4.2, the empirical variant): quantizing a layer's weights moves the mean of
// its output, and a bias can take that shift back. No labels, only calibration images.
//
// A layer computes y = W x + b; with quantized weights W_q = W + E (E: the rounding error),
//   y_q = W_q x + b = y + E x,      so      E[y_q] - E[y] = E[E x] = E E[x]
// by linearity: the error's mean is the weight error times the mean input. Subtracting it from
// the bias,
//   b' = b - E E[x],
// makes the quantized layer's output right on average, per output channel (the error that is
// left, E (x - E[x]), has mean zero). For a convolution x is the patch a window sees: the shift
// of channel o is the mean over images and positions of conv(x, E)[o] — computed as exactly
// that, one convolution of the calibration inputs with E (so padding, stride, dilation and
// groups count as the layer's own forward counts them); for a linear layer it is E mean(x).
// E[x] is the mean of what the layer receives in the quantized model (its input FakeQuantize's
// grid, the layers before it corrected already, quant/repair/layer_inputs.h).
//
// W is the float weight: the layer's own effective weight, or the one `reference` gives for it —
// after AdaRound (quant/repair/adaround.h) the layer's weight is its chosen codes s q, on the grid,
// and the float weight it stood for has to be passed in (take float_weights() before AdaRound).
//
// Where the bias lives: the layer's effective bias (BN folded: beta takes the shift, since the
// effective bias is beta + (b - mean) s), which convert() rounds to the int32 accumulator grid
// s_in s_w[o] like any bias — so the integer model, and a file `ptq --save` writes, carries the
// correction. A layer without a bias is given one. The weights and all ranges stay as they are.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/module.h"

namespace qgrad::quant {

struct BiasCorrection {
  std::string layer;               // the layer's path in the prepared model
  std::vector<double> correction;  // per output channel, what was added to the bias: -E E[x]
  double max_abs() const;
};

// The effective (BN-folded) float weight of every QAT layer of prepared, by its path (copies).
using FloatWeights = std::map<std::string, Tensor>;
FloatWeights float_weights(nn::Module& prepared);

// Corrects every quantized layer of a calibrated prepared model (observers frozen, fake
// quantization on; on the CPU), the first layer first, with the inputs batches produce; a
// layer's float weight W is reference's entry for it when there is one, else its own.
// Returns the corrections, one entry per layer.
std::vector<BiasCorrection> correct_bias(nn::Module& prepared, const std::vector<Tensor>& batches,
                                         const FloatWeights& reference = {});

}  // namespace qgrad::quant
