// Residual blocks, the registry entry (quant/layers/registry.h) for nn::Residual and
// nn::BasicBlock (exactly these types: a subclass may compute anything in its forward).
//   float       Residual [+ ReLU] | BasicBlock (its ReLU built in)
//   fake-quant  [FakeQuantize] Residual(prepared body, prepared shortcut) [ReLU] FakeQuantize
//       body and shortcut (Sequentials or single modules) are prepared by the registry's rules
//       but open with no FakeQuantize: both read the block's input, already fake-quantized.
//       The sum gets its own FakeQuantize (config of the block's name, e.g. "3") after the ReLU
//       that follows the add, which the integer model fuses into its clamp. Branch layers are
//       looked up in the config by their dotted names ("3.body.0", "3.shortcut.0").
//   integer     IntResidual (quant/intmodel/int_residual.h): both branches converted from the
//               block's input qparams, the add requantized to the closing FakeQuantize's qparams
//   file line   IntResidual(body=B, shortcut=S, relu=R), then the B body and S shortcut layers'
//               lines indented two more spaces, their tensors "i.body.j.*" / "i.shortcut.j.*";
//               its own zero_points int32 [z_a, z_b, z_o, qmin, qmax], scales float32 [s_a, s_b, s_o]
// Tests: tests/quant/test_residual.cpp.
#include <typeinfo>

#include "core/error.h"
#include "nn/activations.h"
#include "nn/basic_block.h"
#include "nn/residual.h"
#include "quant/intmodel/int_residual.h"
#include "quant/layers/registry.h"

namespace qgrad::quant {

namespace {

nn::ModulePtr child_named(const nn::Module& m, const std::string& name) {
  for (const auto& [n, c] : m.children())
    if (n == name) return c;
  return nullptr;
}

size_t prepare(PrepareStep& s) {
  const nn::ModulePtr& m = s.kids[s.i].second;
  if (!m) return 0;
  const nn::Module& layer = *m;  // typeid of a reference: clang warns on typeid(*m)'s call
  const bool block_relu = typeid(layer) == typeid(nn::BasicBlock);
  if (!(block_relu || typeid(layer) == typeid(nn::Residual))) return 0;
  const std::string name = s.name(s.i);
  const LayerQConfig& c = s.config.for_module(name);
  s.quantize_input(c);
  const nn::ModulePtr body = child_named(*m, "body"), shortcut = child_named(*m, "shortcut");
  check(body != nullptr, "prepare", "residual '", name, "' has no body");
  auto qbody = s.branch(body, name + ".body", c);
  if (shortcut) {
    s.out.add(std::make_shared<nn::Residual>(qbody, s.branch(shortcut, name + ".shortcut", c)));
  } else {
    s.out.add(std::make_shared<nn::Residual>(qbody));
  }
  const bool next_relu = !block_relu && s.at<nn::ReLU>(s.i + 1) != nullptr;
  if (block_relu || next_relu) s.out.add(nn::ReLU());
  s.quantize_output(c);
  return next_relu ? 2 : 1;
}

size_t convert(ConvertStep& s) {
  nn::Module* m = s.prepared[s.i].get();
  if (!m || typeid(*m) != typeid(nn::Residual)) return 0;
  auto branch = [&](const char* what) -> const nn::Sequential* {
    const nn::ModulePtr c = child_named(*m, what);
    if (!c) return nullptr;
    const auto* seq = dynamic_cast<const nn::Sequential*>(c.get());
    check(seq != nullptr, "convert", "residual ", s.where, s.i, ": its ", what,
          " must be a Sequential (as prepare makes it), got ", c->type_name());
    return seq;
  };
  const nn::Sequential* body = branch("body");
  const nn::Sequential* shortcut = branch("shortcut");
  check(body != nullptr, "convert", "residual ", s.where, s.i, " has no body");
  const std::string here = cat(s.where, s.i, ".");
  IntLayers body_layers, shortcut_layers;
  const QParams body_qp = s.branch(*body, here + "body.", s.current, body_layers);
  // The identity shortcut passes the input codes (and qparams) through.
  const QParams shortcut_qp = shortcut ? s.branch(*shortcut, here + "shortcut.", s.current, shortcut_layers) : s.current;
  const bool relu = s.at<nn::ReLU>(s.i + 1) != nullptr;
  const size_t fq_at = s.i + 1 + (relu ? 1 : 0);
  const QParams out = s.output_qparams(fq_at, "Residual");
  s.layers.push_back(std::make_unique<IntResidual>(std::move(body_layers), std::move(shortcut_layers), body_qp,
                                                   shortcut_qp, out, relu));
  s.current = out;
  return fq_at + 1 - s.i;
}

std::unique_ptr<IntLayer> load(IntLayerSource& src) {
  LayerLine& line = src.line;
  TensorTable& table = src.table;
  const std::string& prefix = src.prefix;
  const int64_t body = line.integer("body", 0, 4096), shortcut = line.integer("shortcut", 0, 4096);
  const bool relu = line.integer("relu", 0, 1) == 1;
  line.done();
  const std::string zname = prefix + ".zero_points";
  const auto z = table.take(zname, DType::Int32, {5}).to_vector<int32_t>();  // [z_a, z_b, z_o, qmin, qmax]
  const auto sc = table.positive_scales(prefix + ".scales", 3);
  if (!bits_of_qmax(z[4])) table.bad(zname, "qmax ", z[4], " is not 2^bits - 1 for bits in 2..8");
  for (int i = 0; i < 3; ++i)
    if (z[i] < 0 || z[i] > (i < 2 ? 255 : z[4]))
      table.bad(zname, "entry ", i, " (", z[i], ") is outside [0, ", i < 2 ? 255 : z[4], "]");
  if (z[3] != (relu ? z[2] : 0))
    table.bad(zname, "qmin ", z[3], " does not match relu=", relu ? 1 : 0, " (expected ", relu ? z[2] : 0, ")");
  // Deriving the fixed-point multipliers fails when max(s_a, s_b) / s_o is out of range (the
  // reader names the layer).
  const IntAdd add(sc[0], z[0], sc[1], z[1], sc[2], z[2], z[3], z[4]);
  const std::string owner = cat("IntResidual ", prefix, " lists ", body, " body and ", shortcut, " shortcut layers");
  IntLayers body_layers, shortcut_layers;
  for (int64_t j = 0; j < body; ++j)
    body_layers.push_back(src.reader.read(cat(prefix, ".body.", j), src.depth + 1, table, owner));
  for (int64_t j = 0; j < shortcut; ++j)
    shortcut_layers.push_back(src.reader.read(cat(prefix, ".shortcut.", j), src.depth + 1, table, owner));
  return std::make_unique<IntResidual>(std::move(body_layers), std::move(shortcut_layers), add, relu);
}

}  // namespace

QuantizedLayerType residual_layer_type() {
  return {.float_pattern = "Residual [+ReLU], BasicBlock", .prepare = prepare, .convert = convert,
          .int_kinds = {"IntResidual"}, .load = load};
}

}  // namespace qgrad::quant
