// Linear, the registry entry (quant/layers/registry.h).
//   float       Linear [+ ReLU]
//   fake-quant  [FakeQuantize] QatLinear [ReLU] FakeQuantize
//   integer     QuantizedLinear (the ReLU fused into the clamp)
//   file line   QuantizedLinear(in=, out=, weight_bits=, granularity=, relu=, [weights=kmeans|pow2])
// A Linear the config keeps in float is copied as it is.
// Tests: tests/quant/test_convert.cpp, tests/quant/test_int_model_file.cpp.
#include "nn/activations.h"
#include "nn/linear.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/layers/registry.h"

namespace qgrad::quant {

namespace {

size_t prepare(PrepareStep& s) {
  const auto* lin = s.at<nn::Linear>(s.i);
  if (!lin) return 0;
  const LayerQConfig& c = s.config.for_module(s.name(s.i));
  if (!c.quantize) {
    auto copy = std::make_shared<nn::Linear>(lin->options());
    copy->load_state_dict(lin->state_dict());
    s.keep_float(copy);
    return 1;
  }
  const bool relu = s.at<nn::ReLU>(s.i + 1) != nullptr;
  s.quantize_input(c);
  auto qat = std::make_shared<QatLinear>(*lin, c.weight, c.weight_method);
  qat->set_input_quantizer(s.grid);
  s.out.add(qat);
  if (relu) s.out.add(nn::ReLU());
  s.quantize_output(c);
  reproduce_integer_output(qat, *s.grid, relu);
  return relu ? 2 : 1;
}

size_t convert(ConvertStep& s) {
  auto* lin = s.at<QatLinear>(s.i);
  return lin ? s.integer_twin(*lin) : 0;
}

std::unique_ptr<IntLayer> load(IntLayerSource& src) {
  const int64_t in = src.line.integer("in", 1, kMaxQGemmDepth), out = src.line.integer("out", 1, int64_t{1} << 24);
  return std::make_unique<QuantizedLinear>(src.gemm_params(out, in));
}

}  // namespace

QuantizedLayerType linear_layer_type() {
  return {.float_pattern = "Linear [+ReLU]", .prepare = prepare, .convert = convert,
          .int_kinds = {"QuantizedLinear"}, .load = load};
}

}  // namespace qgrad::quant
