// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight
// Equalization and Bias Correction", §4.1): rescale the channels between two consecutive layers
// so each channel's weights span a similar range, which a per-tensor grid (one scale for all
// channels) then fits much better. Exact in float; no data needed.
//
// Two layers with only ReLU (and max/average pooling, Flatten, FakeQuantize) between them:
//   y = W2 f(W1 x + b1) + b2.
// ReLU is positively homogeneous, f(x / s) = f(x) / s for s > 0, and so are the pools (max and
// mean commute with a positive scale) and Flatten. With S = diag(s_1..s_C) over the C channels
// between the layers,
//   W2 f(W1 x + b1) = (W2 S) f(S^-1 W1 x + S^-1 b1),
// so dividing output channel i of layer 1 (its weights and bias) by s_i and multiplying input
// channel i of layer 2 by s_i leaves the float model's output as it was (up to float rounding).
// With r1_i the range max|W1[i, ...]| of output channel i in layer 1 and r2_i the range of the
// weights of layer 2 that multiply channel i,
//   s_i = sqrt(r1_i / r2_i)   gives   r1_i / s_i = r2_i s_i = sqrt(r1_i r2_i):
// both layers see the same range for channel i, the geometric mean of the two (the paper derives
// this s as the one maximizing sum_i (r1_i / R1)(r2_i / R2), R the tensors' ranges). A layer
// in the middle of a chain belongs to two pairs (its input and its output channels), so the
// pairs are equalized in sweeps until no scale moves by more than 1e-4 (at most 100 sweeps).
// A channel whose range is 0 in either layer is left alone (s = 1).
//
// Channels of layer 2: a Linear after Flatten takes channel i's H x W values as the columns
// [i HW, (i+1) HW) (NCHW order), after a GlobalAvgPool as column i; a Conv2d with groups g takes
// channel i in group i / (C/g) at position i mod (C/g), for that group's output channels only
// (a depthwise conv: channel i is its own output channel i). BatchNorm is already folded (the
// effective weights of quant/fakequant/qat_modules.h).
//
// equalize() works on a prepared model before calibration (the weight and activation ranges
// are observed afterwards, on the equalized weights); it changes the effective weights and
// biases of its QAT layers (QatLayer::set_effective_weight, add_to_bias), not the float model.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/module.h"

namespace qgrad::quant {

struct EqualizedPair {
  std::string first, second;  // the two layers' paths in the prepared model
  int64_t channels = 0;       // the channels between them
};

struct Equalization {
  std::vector<EqualizedPair> pairs;
  int sweeps = 0;
};

// Equalizes every pair of consecutive QAT layers in the Sequentials of prepared (the model and
// any nested ones, e.g. a residual body) joined only by ReLU, MaxPool2d, AvgPool2d,
// GlobalAvgPool, Flatten, Identity or FakeQuantize. Fails when a FakeQuantize has observed data
// already (the ranges would no longer fit the weights): equalize first, then calibrate.
Equalization equalize(nn::Module& prepared);

// How evenly a weight's output channels fill a per-tensor range: mean_i r_i / max_i r_i with
// r_i = max|w[i, ...]| (1: every channel spans the whole range; 0 for an all-zero weight).
double channel_range_evenness(const Tensor& weight);

}  // namespace qgrad::quant
