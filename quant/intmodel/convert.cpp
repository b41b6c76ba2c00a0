#include "quant/intmodel/convert.h"

#include "core/autograd.h"
#include "core/backend/cuda_device.h"
#include "core/error.h"
#include "nn/flatten.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/layers/registry.h"
#include "quant/math/quantize.h"

namespace qgrad::quant {

Tensor IntModel::forward(const Tensor& x) {
  NoGradGuard no_grad;
  return dequantize(forward_int(quantize(x.detach().contiguous(), input_qparams)), output_qparams);
}

Tensor IntModel::forward_int(const Tensor& q) const {
  // Inside, 4-D activations are channels last (int_modules.h); outside, NCHW like the float model.
  Tensor h = q.dim() == 4 ? q.permute({0, 2, 3, 1}).contiguous() : q;
  const bool gpu = execution_device_ == Device::CUDA;
  for (const auto& l : layers) h = gpu ? l->run_cuda(h) : l->run(h);
  return h.dim() == 4 ? h.permute({0, 3, 1, 2}).contiguous() : h;
}

void IntModel::set_execution_device(Device device) {
  if (device == Device::CUDA) {
    check(cuda_built(), "IntModel::set_execution_device", "this build has no CUDA backend (configure with -DQGRAD_CUDA=ON)");
    check(cuda_device_count() > 0, "IntModel::set_execution_device", "device cuda requested but ",
          cuda_device_description());
  }
  execution_device_ = device;
}

PixelPrediction IntModel::predict_pixels(const Tensor& pixels) const {
  check(input_spec.has_value(), "IntModel::predict_pixels", "the model has no input spec (its preprocessing); "
        "models written by ptq/qat carry one, load them with load_int_model");
  PixelPrediction out{forward_int(quantize(normalize_pixels(*input_spec, pixels), input_qparams)), {}};
  check(out.codes.dim() == 2, "IntModel::predict_pixels", "expects [N, classes] outputs, got ",
        shape_str(out.codes.shape()));
  const int64_t k = out.codes.size(1);
  const uint8_t* c = out.codes.data<uint8_t>();
  for (int64_t n = 0; n < out.codes.size(0); ++n) {
    // Strictly greater replaces: the first of equal codes wins, as argmax() on the dequantized
    // logits decides (dequantization is increasing, so it keeps the order and the ties).
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (c[n * k + j] > c[n * k + best]) best = j;
    out.labels.push_back(static_cast<int32_t>(best));
  }
  return out;
}

std::string IntModel::options_str() const {
  std::string s;
  for (const auto& l : layers) s += (s.empty() ? "" : ", ") + l->name();
  return s;
}

namespace {
template <class M>
M* child_as(const nn::Sequential& s, size_t j) {
  return j < s.size() ? dynamic_cast<M*>(s[j].get()) : nullptr;
}

// Converts prepared[begin, end) whose input has qparams `current`, appending the integer layers;
// returns the qparams of the output. where: "" at the top level, else "3.body." etc. for messages.
QParams convert_layers(const nn::Sequential& prepared, size_t begin, QParams current, IntLayers& layers,
                       const std::string& where) {
  for (size_t i = begin; i < prepared.size();) {
    ConvertStep step{prepared, i, where, current, layers};
    size_t used = 0;
    for (const QuantizedLayerType& type : quantized_layer_types())
      if ((used = type.convert(step)) > 0) break;
    check(used > 0, "convert", "module ", where, i, " (", prepared[i]->type_name(), ") has no integer version; every "
          "Conv2d/Linear must be quantized (QatConv2d/QatConvBn2d/QatLinear) and followed by its FakeQuantize");
    current = step.current;
    i += used;
  }
  return current;
}

}  // namespace

QParams ConvertStep::branch(const nn::Sequential& b, const std::string& branch_where, const QParams& in,
                            IntLayers& out) const {
  return convert_layers(b, 0, in, out, branch_where);
}

std::shared_ptr<IntModel> convert(const nn::Sequential& prepared) {
  auto model = std::make_shared<IntModel>();
  const size_t n = prepared.size();
  // A leading Flatten commutes with quantizing the input, so it runs on the uint8 codes.
  size_t first = 0;
  while (child_as<nn::Flatten>(prepared, first)) {
    model->layers.push_back(std::make_unique<IntFlatten>());
    ++first;
  }
  auto* input = child_as<FakeQuantize>(prepared, first);
  check(input != nullptr, "convert", "the prepared model must start with its input FakeQuantize, got ",
        first < n ? prepared[first]->type_name() : std::string("an empty model"));
  model->input_qparams = input->qparams();
  model->output_qparams = convert_layers(prepared, first + 1, model->input_qparams, model->layers, "");
  model->eval();
  return model;
}

}  // namespace qgrad::quant
