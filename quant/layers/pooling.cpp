// The pools, one registry entry (quant/layers/registry.h) for nn/pooling.h's three layers.
//   MaxPool2d      -> MaxPool2d (copied)              -> IntMaxPool2d: max of the codes (max
//                     commutes with q -> s (q - zp), so it stays on its input's grid, no FakeQuantize)
//   AvgPool2d      -> AvgPool2d FakeQuantize           -> IntAvgPool2d (an average leaves the grid:
//   GlobalAvgPool  -> GlobalAvgPool FakeQuantize       -> IntGlobalAvgPool   it is requantized)
//   file lines     IntMaxPool2d(kernel=, stride=, padding=), IntAvgPool2d(kernel=, stride=,
//                  padding=) and IntGlobalAvgPool; average pools with zero_points and scales
// The average pools' FakeQuantize uses the config of the last quantized layer before them; on a
// still-float tensor (no quantized layer yet) they are copied alone.
// Tests: tests/quant/test_convert.cpp, tests/quant/test_nhwc_u8_kernels.cpp.
#include "nn/pooling.h"
#include "quant/layers/registry.h"

namespace qgrad::quant {

namespace {

size_t prepare(PrepareStep& s) {
  if (const auto* mp = s.at<nn::MaxPool2d>(s.i)) {
    s.out.add(nn::MaxPool2d(mp->options()));
    return 1;
  }
  if (const auto* ap = s.at<nn::AvgPool2d>(s.i)) {
    s.out.add(nn::AvgPool2d(ap->options()));
  } else if (const auto* g = s.at<nn::GlobalAvgPool>(s.i)) {
    s.out.add(nn::GlobalAvgPool(g->options()));
  } else {
    return 0;
  }
  if (!s.float_input) s.requantize_output(*s.last);
  return 1;
}

size_t convert(ConvertStep& s) {
  if (auto* mp = s.at<nn::MaxPool2d>(s.i)) {
    s.layers.push_back(std::make_unique<IntMaxPool2d>(mp->options()));
    return 1;
  }
  auto* ap = s.at<nn::AvgPool2d>(s.i);
  const bool global = s.at<nn::GlobalAvgPool>(s.i) != nullptr;
  if (!ap && !global) return 0;
  const QParams out = s.output_qparams(s.i + 1, global ? "GlobalAvgPool" : "AvgPool2d");
  s.layers.push_back(std::make_unique<IntAvgPool2d>(global ? Pool2dOptions{} : ap->options(), global, s.current, out));
  s.current = out;
  return 2;
}

Pool2dOptions pool_options(LayerLine& line) {
  Pool2dOptions o;
  o.kernel = line.integer("kernel", 1, 64);
  o.stride = line.integer("stride", 0, 64);
  // At most half the window is padding, so every window holds an input value.
  o.padding = line.integer("padding", 0, o.kernel / 2);
  return o;
}

std::unique_ptr<IntLayer> load(IntLayerSource& src) {
  LayerLine& line = src.line;
  if (line.kind == "IntMaxPool2d") {
    const Pool2dOptions o = pool_options(line);
    line.done();
    return std::make_unique<IntMaxPool2d>(o);
  }
  const bool global = line.kind == "IntGlobalAvgPool";
  const Pool2dOptions o = global ? Pool2dOptions{} : pool_options(line);
  line.done();
  const auto a = src.activation_sides();
  if (a.qmin != 0) src.table.bad(src.prefix + ".zero_points", "qmin of an average pool must be 0, got ", a.qmin);
  return std::make_unique<IntAvgPool2d>(o, global, activation_qparams(a.in_scale, a.in_zp, 255),
                                        activation_qparams(a.out_scale, a.out_zp, a.qmax));
}

}  // namespace

QuantizedLayerType pooling_layer_type() {
  return {.float_pattern = "MaxPool2d, AvgPool2d, GlobalAvgPool", .prepare = prepare, .convert = convert,
          .int_kinds = {"IntMaxPool2d", "IntAvgPool2d", "IntGlobalAvgPool"}, .load = load};
}

}  // namespace qgrad::quant
