#include "quant/layers/registry.h"

#include "core/error.h"
#include "nn/activations.h"
#include "quant/fakequant/prepare.h"
#include "quant/intmodel/convert.h"

namespace qgrad::quant {

// Adding a layer: its file in this folder, its function in registry.h, one line here.
// (An explicit list rather than self-registering static objects: a static library drops
// object files nothing references, and with them their registrations.)
const std::vector<QuantizedLayerType>& quantized_layer_types() {
  static const std::vector<QuantizedLayerType> types = {
      residual_layer_type(), conv2d_layer_type(), linear_layer_type(),
      pooling_layer_type(),  flatten_layer_type(), relu_layer_type(),
  };
  return types;
}

std::string PrepareStep::name(size_t j) const {
  if (paths) {
    auto it = paths->find(kids[j].second.get());
    if (it != paths->end()) return it->second;
  }
  return prefix + kids[j].first;
}

std::shared_ptr<FakeQuantize> PrepareStep::activation_fq(const LayerQConfig& c) {
  return std::make_shared<FakeQuantize>(FakeQuantizeOptions{.scheme = c.activation, .observer = c.observer});
}

void PrepareStep::quantize_input(const LayerQConfig& c) {
  if (!float_input) return;
  grid = activation_fq(c);
  out.add(grid);
}

void PrepareStep::quantize_output(const LayerQConfig& c) {
  requantize_output(c);
  float_input = false;
  last = &c;
}

void PrepareStep::requantize_output(const LayerQConfig& c) {
  grid = activation_fq(c);
  out.add(grid);
}

void PrepareStep::keep_float(const nn::ModulePtr& copy) {
  out.add(copy);
  float_input = true;
  grid = nullptr;
}

QParams ConvertStep::output_qparams(size_t j, const std::string& what) const {
  auto* fq = at<FakeQuantize>(j);
  check(fq != nullptr, "convert", what, " at position ", where, j - 1, " must be followed by a FakeQuantize");
  return fq->qparams();
}

size_t ConvertStep::integer_twin(QatLayer& layer) {
  const bool relu = at<nn::ReLU>(i + 1) != nullptr;
  const size_t fq_at = i + 1 + (relu ? 1 : 0);
  const QParams out = output_qparams(fq_at, layer.type_name());
  layers.push_back(layer.integer_twin(current, out, relu));
  current = out;
  return fq_at + 1 - i;
}

}  // namespace qgrad::quant
