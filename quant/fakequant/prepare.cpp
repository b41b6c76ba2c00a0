#include "quant/fakequant/prepare.h"

#include "core/error.h"
#include "quant/fakequant/trace.h"
#include "quant/layers/registry.h"

namespace qgrad::quant {

namespace {

// Appends the prepared twin of kids (named prefix + name in the float model) to out.
// float_input: whether the tensor entering kids is still float; last: the config of the last
// quantized layer before them (both updated as the walk goes).
void prepare_into(nn::Sequential& out, const Children& kids, const std::string& prefix, const QConfig& config,
                  bool& float_input, const LayerQConfig*& last, std::shared_ptr<FakeQuantize> grid,
                  const std::map<const nn::Module*, std::string>* paths) {
  for (size_t i = 0; i < kids.size();) {
    PrepareStep step{kids, i, prefix, config, out, float_input, last, grid, paths};
    size_t used = 0;
    for (const QuantizedLayerType& type : quantized_layer_types())
      if ((used = type.prepare(step)) > 0) break;
    if (used == 0) {
      std::string known;
      for (const QuantizedLayerType& type : quantized_layer_types())
        known += (known.empty() ? "" : ", ") + type.float_pattern;
      fail("prepare", "module '", step.name(i), "' (", kids[i].second->type_name(), ") is not supported; known: ",
           known);
    }
    float_input = step.float_input;
    last = step.last;
    grid = step.grid;
    i += used;
  }
}

std::shared_ptr<nn::Sequential> build(const nn::Sequential& model, const QConfig& config,
                                      const std::map<const nn::Module*, std::string>* paths = nullptr) {
  auto out = std::make_shared<nn::Sequential>();
  bool float_input = true;  // is the current tensor a float (not yet fake-quantized) one?
  const LayerQConfig* last = nullptr;
  prepare_into(*out, model.children(), "", config, float_input, last, nullptr, paths);
  out->train(model.is_training());
  return out;
}

// A Sequential as it is; any other module through its trace.
std::shared_ptr<nn::Sequential> build_any(nn::Module& model, const QConfig& config, const Tensor& example) {
  if (const auto* seq = dynamic_cast<const nn::Sequential*>(&model)) return build(*seq, config);
  const TracedModel traced = trace(model, example);
  return build(*traced.sequential, config, &traced.paths);
}

std::shared_ptr<nn::Sequential> with_switches(std::shared_ptr<nn::Sequential> out, bool fake_quant) {
  set_observe(*out, true);
  set_fake_quant(*out, fake_quant);
  return out;
}

}  // namespace

std::shared_ptr<nn::Sequential> PrepareStep::branch(const nn::ModulePtr& m, const std::string& name,
                                                    const LayerQConfig& block) const {
  auto out_seq = std::make_shared<nn::Sequential>();
  bool branch_float = false;
  const LayerQConfig* branch_last = &block;
  if (const auto* seq = dynamic_cast<const nn::Sequential*>(m.get())) {
    prepare_into(*out_seq, seq->children(), name + ".", config, branch_float, branch_last, grid, paths);
  } else {  // a single module: it is named `name` itself in the float model
    const size_t dot = name.rfind('.');
    prepare_into(*out_seq, {{name.substr(dot + 1), m}}, name.substr(0, dot + 1), config, branch_float, branch_last,
                 grid, paths);
  }
  return out_seq;
}

std::shared_ptr<nn::Sequential> prepare(const nn::Sequential& model, const QConfig& config) {
  return with_switches(build(model, config), false);
}

std::shared_ptr<nn::Sequential> prepare_qat(const nn::Sequential& model, const QConfig& config) {
  return with_switches(build(model, config), true);
}

std::shared_ptr<nn::Sequential> prepare(nn::Module& model, const QConfig& config, const Tensor& example) {
  return with_switches(build_any(model, config, example), false);
}

std::shared_ptr<nn::Sequential> prepare_qat(nn::Module& model, const QConfig& config, const Tensor& example) {
  return with_switches(build_any(model, config, example), true);
}

}  // namespace qgrad::quant
