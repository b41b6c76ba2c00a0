// ReLU on its own (one that follows a Conv2d, Linear or residual is fused into their clamp by
// their entries), the registry entry (quant/layers/registry.h).
//   ReLU -> ReLU (copied) -> IntReLU: max(q, zp), the code of real 0; file line: IntReLU(zero_point=)
#include "nn/activations.h"
#include "quant/layers/registry.h"

namespace qgrad::quant {

namespace {

size_t prepare(PrepareStep& s) {
  if (!s.at<nn::ReLU>(s.i)) return 0;
  s.out.add(nn::ReLU());
  return 1;
}

size_t convert(ConvertStep& s) {
  if (!s.at<nn::ReLU>(s.i)) return 0;
  s.layers.push_back(std::make_unique<IntReLU>(s.current.zero_point[0]));
  return 1;
}

std::unique_ptr<IntLayer> load(IntLayerSource& src) {
  const auto zp = static_cast<int32_t>(src.line.integer("zero_point", 0, 255));
  src.line.done();
  return std::make_unique<IntReLU>(zp);
}

}  // namespace

QuantizedLayerType relu_layer_type() {
  return {.float_pattern = "ReLU", .prepare = prepare, .convert = convert, .int_kinds = {"IntReLU"}, .load = load};
}

}  // namespace qgrad::quant
