// convert: a prepared (and calibrated or QAT-trained) fake-quant Sequential -> IntModel, an
// integer-only network (quant/int_modules.h). Walks the prepared sequence:
//   FakeQuantize (model input)                  -> the input quantizer (float -> uint8)
//   QatConv2d | QatConvBn2d [ReLU] FakeQuantize -> QuantizedConv2d (BN already folded, ReLU in
//                                                  the clamp, output qparams from the FakeQuantize)
//   QatLinear [ReLU] FakeQuantize               -> QuantizedLinear
//   MaxPool2d -> IntMaxPool2d;  AvgPool2d | GlobalAvgPool, FakeQuantize -> IntAvgPool2d
//   Flatten -> IntFlatten;  ReLU -> IntReLU
// IntModel::forward(x float) quantizes x, runs the integer layers, and dequantizes the last
// uint8 output into float logits (the same values the fake-quant model's last FakeQuantize
// produces, up to the rounding differences documented in int_modules.h).
// Every Conv2d/Linear must be quantized with symmetric weights; the model must start with its
// input FakeQuantize (after any leading Flatten). Anything else fails naming the module.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"
#include "nn/safetensors.h"
#include "nn/sequential.h"
#include "quant/int_modules.h"

namespace qgrad::quant {

class IntModel : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override;       // float32 -> float32 (dequantized output)
  Tensor forward_int(const Tensor& q) const;      // uint8 -> uint8
  std::string type_name() const override { return "IntModel"; }
  std::string options_str() const override;

  QParams input_qparams, output_qparams;
  std::vector<std::unique_ptr<IntLayer>> layers;
};

std::shared_ptr<IntModel> convert(const nn::Sequential& prepared);

// Writes the integer model as safetensors (nn/safetensors.h): layer i's tensors as "i.weight"
// (int8 [out, k]), "i.bias" (int32), "i.multiplier", "i.shift" (int32, the fixed-point
// requantization), "i.zero_points" (int32 [in_zp, out_zp, qmin, qmax]); "input.qparams" and
// "output.qparams" as float32 [scale, zero_point]; the metadata holds "qgrad.int_layers" (one
// layer description per line) plus the caller's keys (put the qconfig and arch there).
// Writing only: a loader that rebuilds an IntModel from the file is not implemented yet.
void save_int_model(const std::string& path, const IntModel& model, const nn::Metadata& metadata = {});

}  // namespace qgrad::quant
