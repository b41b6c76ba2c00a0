// prepare / prepare_qat: turn a float nn::Sequential into its fake-quantized twin, a new
// Sequential with copied weights (the float model is not touched), following a QConfig.
//   Conv2d [+ BatchNorm2d] [+ ReLU]  ->  QatConv2d | QatConvBn2d  [ReLU]  FakeQuantize
//   Linear [+ ReLU]                  ->  QatLinear  [ReLU]  FakeQuantize
//   AvgPool2d, GlobalAvgPool         ->  the pool, FakeQuantize (an average leaves the grid)
//   MaxPool2d, Flatten, ReLU         ->  copied (they keep values on the grid they got)
//   Residual [+ ReLU], BasicBlock    ->  Residual(prepared body, prepared shortcut) [ReLU] FakeQuantize
//       body and shortcut (Sequentials or single modules) are prepared by these same rules, but
//       open with no FakeQuantize: both read the block's input, already fake-quantized (a
//       FakeQuantize goes in front of the block when it is the model's first quantized layer).
//       The sum gets its own FakeQuantize (config of the block's name, e.g. "3"), after the
//       ReLU that follows the add (BasicBlock's built-in one, or a ReLU module right after a
//       Residual), which the integer model fuses into its clamp (quant/intmodel/int_residual.h).
//       BasicBlock becomes a plain Residual followed by that ReLU. Branch layers are looked up
//       in the config by their dotted names ("3.body.0", "3.shortcut.0").
// A FakeQuantize is placed in front of every quantized layer whose input is still float (the
// model input, or the output of a layer the config keeps in float). The activation
// FakeQuantize sits after the ReLU when one follows, so it sees only values >= 0: zero point 0,
// the ReLU becomes the integer clamp at the zero point, and no range is spent on negatives.
// Layers are looked up in the config by their name in the float model ("0", "3", ...).
//   prepare:      observers on, fake quantization off   (PTQ: run calibration data, then
//                 set_observe(m, false); set_fake_quant(m, true))
//   prepare_qat:  observers and fake quantization on    (train with the usual optimizer)
// Other module types fail with a message naming the module.
#pragma once
#include <memory>

#include "nn/sequential.h"
#include "quant/fakequant/qconfig.h"

namespace qgrad::quant {

std::shared_ptr<nn::Sequential> prepare(const nn::Sequential& model, const QConfig& config);
std::shared_ptr<nn::Sequential> prepare_qat(const nn::Sequential& model, const QConfig& config);

}  // namespace qgrad::quant
