// What the three repair methods share (quant/repair/): the prepared model's quantized layers in
// the order data meets them, and what one of them receives on the calibration data.
// Each method repairs the layers one after the other, the first first, and collects a layer's
// inputs only once the layers before it are repaired: a layer is fitted to the input it will
// see in the repaired model, quantization errors of the earlier layers included.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/module.h"
#include "quant/fakequant/qat_modules.h"

namespace qgrad::quant {

struct NamedQatLayer {
  std::string name;  // the dotted path in the prepared model ("1", "3.body.0")
  QatLayer* layer;
};

// Every QatLayer in prepared, in registration order (the order of a Sequential's forward;
// inside a residual block, the body before the shortcut).
std::vector<NamedQatLayer> qat_layers(nn::Module& prepared);

// The tensors `layer` (a module inside model) receives when model runs each of batches, in
// eval mode and without a graph, one per batch: recorded through nn::CallObserver while model
// runs, so any module tree works. Fails naming the layer when it is never called.
std::vector<Tensor> layer_inputs(nn::Module& model, const nn::Module& layer, const std::vector<Tensor>& batches,
                                 const std::string& name);

// What bias correction and AdaRound need before they run: a calibrated model (every
// FakeQuantize frozen, fake quantization on) on the CPU, and at least one calibration batch.
// Fails naming what is missing, under `op`.
void require_calibrated(nn::Module& prepared, const std::vector<Tensor>& batches, const char* op);

}  // namespace qgrad::quant
