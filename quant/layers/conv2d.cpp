// Conv2d, the registry entry (quant/layers/registry.h).
//   float       Conv2d [+ BatchNorm2d] [+ ReLU]
//   fake-quant  [FakeQuantize] QatConv2d | QatConvBn2d (BN folded) [ReLU] FakeQuantize
//   integer     QuantizedConv2d: BN already folded into the weight and bias, the ReLU fused into
//               the clamp, output qparams from the closing FakeQuantize; any groups (depthwise
//               included), dilation, stride, padding and kernel_h x kernel_w
//   file line   QuantizedConv2d(in=, out=, kernel= | kernel_h=, kernel_w=, stride=, padding=,
//               [dilation=,] [groups=,] weight_bits=, granularity=, relu=, [weights=])
//               (absent: dilation, groups 1; weights linear, else kmeans | pow2: a codebook)
// A Conv2d the config keeps in float is copied as it is (and may not be followed by BatchNorm2d).
// Tests: tests/quant/test_convert.cpp, tests/quant/test_grouped_conv.cpp.
#include "core/error.h"
#include "nn/activations.h"
#include "nn/batch_norm.h"
#include "nn/conv2d.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/layers/registry.h"

namespace qgrad::quant {

namespace {

size_t prepare(PrepareStep& s) {
  const auto* conv = s.at<nn::Conv2d>(s.i);
  if (!conv) return 0;
  const std::string name = s.name(s.i);
  const LayerQConfig& c = s.config.for_module(name);
  const auto* bn = s.at<nn::BatchNorm2d>(s.i + 1);
  if (!c.quantize) {
    check(!bn, "prepare", "layer '", name, "' is kept in float but is followed by "
          "BatchNorm2d, which prepare only handles folded into a quantized conv");
    auto copy = std::make_shared<nn::Conv2d>(conv->options());
    copy->load_state_dict(conv->state_dict());
    s.keep_float(copy);
    return 1;
  }
  const size_t relu_at = s.i + 1 + (bn ? 1 : 0);
  const bool relu = s.at<nn::ReLU>(relu_at) != nullptr;
  s.quantize_input(c);
  std::shared_ptr<QatConv2d> qat;
  if (bn) {
    qat = std::make_shared<QatConvBn2d>(*conv, *bn, c.weight, c.weight_method);
  } else {
    qat = std::make_shared<QatConv2d>(*conv, c.weight, c.weight_method);
  }
  qat->set_input_quantizer(s.grid);
  s.out.add(qat);
  if (relu) s.out.add(nn::ReLU());
  s.quantize_output(c);
  reproduce_integer_output(qat, *s.grid, relu);
  return relu_at + (relu ? 1 : 0) - s.i;
}

size_t convert(ConvertStep& s) {
  auto* conv = s.at<QatConv2d>(s.i);  // QatConvBn2d is one too
  return conv ? s.integer_twin(*conv) : 0;
}

std::unique_ptr<IntLayer> load(IntLayerSource& src) {
  LayerLine& line = src.line;
  IntConvShape s;
  s.in = line.integer("in", 1, kMaxQGemmDepth);
  s.out = line.integer("out", 1, int64_t{1} << 24);
  if (line.has("kernel") || !line.has("kernel_h")) {
    s.kernel_h = s.kernel_w = line.integer("kernel", 1, 64);
  } else {
    s.kernel_h = line.integer("kernel_h", 1, 64);
    s.kernel_w = line.integer("kernel_w", 1, 64);
  }
  s.stride = line.integer("stride", 1, 64);
  s.padding = line.integer("padding", 0, 64);
  s.dilation = line.integer_or("dilation", 1, 1, 64);
  s.groups = line.integer_or("groups", 1, 1, s.in);
  if (s.in % s.groups != 0 || s.out % s.groups != 0)
    line.bad("in=", s.in, " and out=", s.out, " are not both multiples of groups=", s.groups);
  IntGemmParams p = src.gemm_params(s.out, s.depth());
  return std::make_unique<QuantizedConv2d>(std::move(p), s);
}

}  // namespace

QuantizedLayerType conv2d_layer_type() {
  return {.float_pattern = "Conv2d [+BatchNorm2d] [+ReLU]", .prepare = prepare, .convert = convert,
          .int_kinds = {"QuantizedConv2d"}, .load = load};
}

}  // namespace qgrad::quant
