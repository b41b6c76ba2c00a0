// Flatten, the registry entry (quant/layers/registry.h).
//   Flatten -> Flatten (copied: reshaping keeps values on their grid) -> IntFlatten, which puts
//   channels-last activations back in PyTorch's (c, y, x) order first; file line: IntFlatten.
// (A Flatten before the input FakeQuantize is handled by convert itself: it runs on the codes.)
#include "nn/flatten.h"
#include "quant/layers/registry.h"

namespace qgrad::quant {

namespace {

size_t prepare(PrepareStep& s) {
  const auto* f = s.at<nn::Flatten>(s.i);
  if (!f) return 0;
  s.out.add(nn::Flatten(f->options()));
  return 1;
}

size_t convert(ConvertStep& s) {
  if (!s.at<nn::Flatten>(s.i)) return 0;
  s.layers.push_back(std::make_unique<IntFlatten>());
  return 1;
}

std::unique_ptr<IntLayer> load(IntLayerSource& src) {
  src.line.done();
  return std::make_unique<IntFlatten>();
}

}  // namespace

QuantizedLayerType flatten_layer_type() {
  return {.float_pattern = "Flatten", .prepare = prepare, .convert = convert, .int_kinds = {"IntFlatten"},
          .load = load};
}

}  // namespace qgrad::quant
