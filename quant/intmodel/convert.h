// convert: a prepared (and calibrated or QAT-trained) fake-quant Sequential -> IntModel, an
// integer-only network (quant/intmodel/int_modules.h). Walks the prepared sequence, asking the
// registry (quant/layers/registry.h) at each position which layer's integer twin begins there:
//   FakeQuantize (model input)                  -> the input quantizer (float -> uint8)
//   QatConv2d | QatConvBn2d [ReLU] FakeQuantize -> QuantizedConv2d (BN already folded, ReLU in
//                                                  the clamp, output qparams from the FakeQuantize)
//   QatLinear [ReLU] FakeQuantize               -> QuantizedLinear
//   MaxPool2d -> IntMaxPool2d;  AvgPool2d | GlobalAvgPool, FakeQuantize -> IntAvgPool2d
//   Flatten -> IntFlatten;  ReLU -> IntReLU
//   Residual(body, shortcut) [ReLU] FakeQuantize -> IntResidual (quant/intmodel/int_residual.h): body and
//                                                  shortcut converted by these same rules, the
//                                                  add requantized to the FakeQuantize's qparams
// IntModel::forward(x float) quantizes x, runs the integer layers, and dequantizes the last
// uint8 output into float logits (the same values the fake-quant model's last FakeQuantize
// produces: the fake-quant model forwards its conv/linear layers' integer codes, docs/quantization.md
// §7; average pools and residual adds may differ by one step on exact ties).
// IntModel::predict_pixels runs raw uint8 images with only what the model carries (its
// input_spec, quant/intmodel/input_spec.h): the deployment path, which a file alone allows.
// Every Conv2d/Linear must be quantized with symmetric weights; the model must start with its
// input FakeQuantize (after any leading Flatten). Anything else fails naming the module.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn/module.h"
#include "nn/sequential.h"
#include "quant/intmodel/input_spec.h"
#include "quant/intmodel/int_modules.h"

namespace qgrad::quant {

// What IntModel::predict_pixels returns.
struct PixelPrediction {
  Tensor codes;                 // uint8 [N, K]: the output codes (logits = dequantize(codes, output_qparams))
  std::vector<int32_t> labels;  // [N]: per row, the index of the largest code; on a tie, the lowest
};

class IntModel : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override;       // float32 -> float32 (dequantized output)
  Tensor forward_int(const Tensor& q) const;      // uint8 -> uint8 (4-D: NCHW, as the float model)
  // Where forward, forward_int and predict_pixels compute: Device::CPU (default) or Device::CUDA,
  // which runs the GEMM layers (with their im2col) and max-pools on the GPU, weights uploaded on
  // first use, the same output bytes as the CPU (IntLayer::run_cuda). Inputs and outputs stay host
  // tensors either way. Choosing CUDA throws unless the build has the CUDA backend and a GPU is
  // visible.
  void set_execution_device(Device device);
  Device execution_device() const { return execution_device_; }
  // Raw images uint8 [N, C, H, W] -> predictions, through input_spec (required here).
  PixelPrediction predict_pixels(const Tensor& pixels) const;
  std::string type_name() const override { return "IntModel"; }
  std::string options_str() const override;

  QParams input_qparams, output_qparams;
  // The preprocessing the input expects; none for a model built without a data set (tests).
  std::optional<InputSpec> input_spec;
  std::vector<std::unique_ptr<IntLayer>> layers;

 private:
  Device execution_device_ = Device::CPU;
};

std::shared_ptr<IntModel> convert(const nn::Sequential& prepared);

// Saving and loading: quant/intmodel/int_model_file.h.

}  // namespace qgrad::quant
