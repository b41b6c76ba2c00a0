// prepare / prepare_qat: turn a float nn::Sequential into its fake-quantized twin, a new
// Sequential with copied weights (the float model is not touched), following a QConfig.
// The walk goes over the children in order; at each position it asks the registry of
// quantizable layers (quant/layers/registry.h) which layer begins there, and that layer's entry
// appends its fake-quant twin, e.g.
//   Conv2d [+ BatchNorm2d] [+ ReLU]  ->  QatConv2d | QatConvBn2d  [ReLU]  FakeQuantize
//   Linear [+ ReLU]                  ->  QatLinear  [ReLU]  FakeQuantize
//   Residual [+ ReLU], BasicBlock    ->  Residual(prepared body, prepared shortcut) [ReLU] FakeQuantize
// (quant/layers/*.cpp has each layer's rule). What all rules share:
// A FakeQuantize is placed in front of every quantized layer whose input is still float (the
// model input, or the output of a layer the config keeps in float). The activation
// FakeQuantize sits after the ReLU when one follows, so it sees only values >= 0: zero point 0,
// the ReLU becomes the integer clamp at the zero point, and no range is spent on negatives.
// Layers are looked up in the config by their name in the float model ("0", "3", "3.body.0").
//   prepare:      observers on, fake quantization off   (PTQ: run calibration data, then
//                 set_observe(m, false); set_fake_quant(m, true))
//   prepare_qat:  observers and fake quantization on    (train with the usual optimizer)
// A module no entry takes fails with a message naming it and listing what is supported.
#pragma once
#include <memory>

#include "core/tensor.h"
#include "nn/sequential.h"
#include "quant/fakequant/qconfig.h"

namespace qgrad::quant {

std::shared_ptr<nn::Sequential> prepare(const nn::Sequential& model, const QConfig& config);
std::shared_ptr<nn::Sequential> prepare_qat(const nn::Sequential& model, const QConfig& config);
// Any module tree: a Sequential as above; any other model is first traced on `example` (one
// forward, quant/fakequant/trace.h) into the Sequential of its leaves, whose layers the config
// names by their paths in the model ("stem.0", "left.conv"). The result is a Sequential either
// way, which calibrate, train and convert take as usual.
std::shared_ptr<nn::Sequential> prepare(nn::Module& model, const QConfig& config, const Tensor& example);
std::shared_ptr<nn::Sequential> prepare_qat(nn::Module& model, const QConfig& config, const Tensor& example);

}  // namespace qgrad::quant
