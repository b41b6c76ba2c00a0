// The registry of quantizable layers: one entry per float layer type, in one file each
// (quant/layers/<layer>.cpp), saying everything the pipeline needs to know about it:
//   prepare   float layer [+ the modules it fuses, e.g. BatchNorm2d, ReLU]  ->  fake-quant twin
//             (a QAT layer and the FakeQuantize of its output)
//   convert   fake-quant twin  ->  integer twin (an IntLayer, quant/intmodel/int_modules.h)
//   load      the integer twin's line and tensors in a model file  ->  the integer twin
// Saving and reporting need no entry: the integer twin says itself how it is saved
// (IntLayer::describe, export_tensors) and what the report shows (IntLayer::gemm,
// output_qparams). prepare (fakequant/prepare.cpp), convert (intmodel/convert.cpp) and the
// model file (intmodel/int_model_file.cpp) walk this list instead of knowing any layer type.
// docs/adding_a_quantized_layer.md walks through adding one.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "nn/sequential.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/fakequant/qconfig.h"
#include "quant/intmodel/int_layer_io.h"
#include "quant/intmodel/int_modules.h"

namespace qgrad::quant {

using Children = std::vector<std::pair<std::string, nn::ModulePtr>>;

// prepare's walk over one Sequential of the float model, as an entry sees it at position i.
struct PrepareStep {
  const Children& kids;       // the Sequential's children, in order
  size_t i;                   // the position asked about
  const std::string& prefix;  // the Sequential's dotted name + "." ("" at the top, "3.body." inside)
  const QConfig& config;
  nn::Sequential& out;        // the fake-quant twin being built
  bool float_input;           // whether the tensor entering kids[i] is still float
  const LayerQConfig* last;   // the config of the last quantized layer before it (null: none)
  // The FakeQuantize whose grid the tensor entering kids[i] is on (null while it is float): a
  // QAT layer quantizes its bias at that input scale, as the integer model does.
  std::shared_ptr<FakeQuantize> grid;
  // A traced model's module paths (quant/fakequant/trace.h): kids are its modules, named as
  // the model names them rather than by their place in the traced Sequential. Null: none.
  const std::map<const nn::Module*, std::string>* paths = nullptr;

  std::string name(size_t j) const;
  // kids[j] when it is an M (or derives from one), else null; past the end: null.
  template <class M>
  const M* at(size_t j) const {
    return j < kids.size() ? dynamic_cast<const M*>(kids[j].second.get()) : nullptr;
  }
  // A FakeQuantize for an activation, with c's scheme and observer.
  static std::shared_ptr<FakeQuantize> activation_fq(const LayerQConfig& c);
  // A quantized layer's input: fake-quantized first when it is still float.
  void quantize_input(const LayerQConfig& c);
  // A quantized layer's output: appends its FakeQuantize; the tensor is on c's grid from here on.
  void quantize_output(const LayerQConfig& c);
  // An output requantized with the scheme of `c` (average pools): appends its FakeQuantize.
  void requantize_output(const LayerQConfig& c);
  // A layer the config keeps in float: appends it; its output is a float tensor.
  void keep_float(const nn::ModulePtr& copy);
  // A residual branch (a Sequential, or one module named `name`), prepared by the same rules;
  // its input is the block's, already fake-quantized, so no FakeQuantize opens it.
  std::shared_ptr<nn::Sequential> branch(const nn::ModulePtr& m, const std::string& name,
                                         const LayerQConfig& block) const;
};

// convert's walk over one prepared Sequential, as an entry sees it at position i.
struct ConvertStep {
  const nn::Sequential& prepared;
  size_t i;
  const std::string& where;  // "" at the top, "3.body." inside (messages)
  QParams current;           // the qparams of the uint8 tensor entering prepared[i]
  IntLayers& layers;         // the integer layers built so far

  template <class M>
  M* at(size_t j) const {
    return j < prepared.size() ? dynamic_cast<M*>(prepared[j].get()) : nullptr;
  }
  // The qparams of the FakeQuantize at position j that closes `what` (fails if none is there).
  QParams output_qparams(size_t j, const std::string& what) const;
  // The pattern every QAT layer closes with: prepared[i] = layer, [ReLU], FakeQuantize. Appends
  // layer's integer twin (the ReLU fused into its clamp) and returns the modules used.
  size_t integer_twin(QatLayer& layer);
  // A prepared residual branch converted by the same rules from input qparams `in`; returns
  // the qparams of its output.
  QParams branch(const nn::Sequential& b, const std::string& where, const QParams& in, IntLayers& out) const;
};

struct QuantizedLayerType {
  std::string float_pattern;  // what it takes, e.g. "Conv2d [+BatchNorm2d] [+ReLU]" (messages, docs)
  // When kids[i] begins this layer's pattern: appends the fake-quant twin to step.out, updates
  // float_input and last, returns how many float modules it used. Otherwise returns 0.
  size_t (*prepare)(PrepareStep& step);
  // When prepared[i] is this layer's fake-quant twin: appends the integer twin to step.layers,
  // updates current, returns how many prepared modules it used. Otherwise returns 0.
  size_t (*convert)(ConvertStep& step);
  // The integer twins' kinds as their file lines begin ("QuantizedConv2d"), and how one is read.
  std::vector<std::string> int_kinds;
  std::unique_ptr<IntLayer> (*load)(IntLayerSource& source);
};

// Every registered layer, in the order prepare and convert try them (registry.cpp).
const std::vector<QuantizedLayerType>& quantized_layer_types();

// One function per file in this folder.
QuantizedLayerType conv2d_layer_type();
QuantizedLayerType linear_layer_type();
QuantizedLayerType pooling_layer_type();
QuantizedLayerType flatten_layer_type();
QuantizedLayerType relu_layer_type();
QuantizedLayerType residual_layer_type();

}  // namespace qgrad::quant
