#include "quant/fakequant/prepare.h"

#include <typeinfo>

#include "core/error.h"
#include "nn/activations.h"
#include "nn/basic_block.h"
#include "nn/batch_norm.h"
#include "nn/conv2d.h"
#include "nn/flatten.h"
#include "nn/linear.h"
#include "nn/pooling.h"
#include "nn/residual.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/qat_modules.h"

namespace qgrad::quant {

namespace {

template <class M>
const M* as(const nn::ModulePtr& m) {
  return dynamic_cast<const M*>(m.get());
}
template <class M>
const M* child_as(const std::vector<std::pair<std::string, nn::ModulePtr>>& kids, size_t j) {
  return j < kids.size() ? as<M>(kids[j].second) : nullptr;
}

std::shared_ptr<FakeQuantize> activation_fq(const LayerQConfig& c) {
  return std::make_shared<FakeQuantize>(
      FakeQuantizeOptions{.scheme = c.activation, .observer = c.observer});
}

using Children = std::vector<std::pair<std::string, nn::ModulePtr>>;

// The residual blocks prepare descends into: nn::Residual itself, and nn::BasicBlock, whose
// forward adds a ReLU after the sum. Other subclasses may compute anything in forward.
bool is_residual(const nn::ModulePtr& m) {
  return m && (typeid(*m) == typeid(nn::Residual) || typeid(*m) == typeid(nn::BasicBlock));
}

nn::ModulePtr child_named(const nn::Module& m, const std::string& name) {
  for (const auto& [n, c] : m.children())
    if (n == name) return c;
  return nullptr;
}

// Appends the prepared twin of kids (named prefix + name in the float model) to out.
// float_input: whether the tensor entering kids is still float; last: the config of the last
// quantized layer before them (both updated as the walk goes).
void build_into(nn::Sequential& out, const Children& kids, const std::string& prefix, const QConfig& config,
                bool& float_input, const LayerQConfig*& last);

// One branch of a residual (its body or shortcut), prepared on its own: the input is already
// fake-quantized (the block quantizes it once for both branches), so no FakeQuantize opens it.
std::shared_ptr<nn::Sequential> build_branch(const nn::ModulePtr& branch, const std::string& name,
                                             const QConfig& config, const LayerQConfig& block) {
  auto out = std::make_shared<nn::Sequential>();
  bool float_input = false;
  const LayerQConfig* last = &block;
  if (const auto* seq = as<nn::Sequential>(branch)) {
    build_into(*out, seq->children(), name + ".", config, float_input, last);
  } else {  // a single module: it is named `name` itself in the float model
    const size_t dot = name.rfind('.');
    build_into(*out, {{name.substr(dot + 1), branch}}, name.substr(0, dot + 1), config, float_input, last);
  }
  return out;
}

void build_into(nn::Sequential& out_seq, const Children& kids, const std::string& prefix, const QConfig& config,
                bool& float_input, const LayerQConfig*& last) {
  nn::Sequential* out = &out_seq;
  const size_t n = kids.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& [short_name, m] = kids[i];
    const std::string name = prefix + short_name;
    if (is_residual(m)) {
      // Residual [ReLU] FakeQuantize: both branches read the block's (fake-quantized) input,
      // and the sum is quantized once more on its own observed range, after the ReLU if one
      // follows (BasicBlock's own, or a ReLU module next in the sequence), like a conv's output.
      const LayerQConfig& c = config.for_module(name);
      if (float_input) out->add(activation_fq(c));
      const nn::ModulePtr body = child_named(*m, "body"), shortcut = child_named(*m, "shortcut");
      check(body != nullptr, "prepare", "residual '", name, "' has no body");
      auto qbody = build_branch(body, name + ".body", config, c);
      if (shortcut) {
        out->add(std::make_shared<nn::Residual>(qbody, build_branch(shortcut, name + ".shortcut", config, c)));
      } else {
        out->add(std::make_shared<nn::Residual>(qbody));
      }
      const bool block_relu = as<nn::BasicBlock>(m) != nullptr;
      const bool next_relu = !block_relu && child_as<nn::ReLU>(kids, i + 1) != nullptr;
      if (block_relu || next_relu) out->add(nn::ReLU());
      out->add(activation_fq(c));
      if (next_relu) ++i;
      float_input = false;
      last = &c;
    } else if (as<nn::Conv2d>(m) || as<nn::Linear>(m)) {
      const LayerQConfig& c = config.for_module(name);
      const auto* bn = as<nn::Conv2d>(m) ? child_as<nn::BatchNorm2d>(kids, i + 1) : nullptr;
      const size_t relu_at = i + 1 + (bn ? 1 : 0);
      const bool has_relu = child_as<nn::ReLU>(kids, relu_at) != nullptr;
      if (!c.quantize) {
        check(!bn, "prepare", "layer '", name, "' is kept in float but is followed by "
              "BatchNorm2d, which prepare only handles folded into a quantized conv");
        if (const auto* lin = as<nn::Linear>(m)) {
          auto copy = std::make_shared<nn::Linear>(lin->options());
          copy->load_state_dict(lin->state_dict());
          out->add(copy);
        } else {
          const auto* conv = as<nn::Conv2d>(m);
          auto copy = std::make_shared<nn::Conv2d>(conv->options());
          copy->load_state_dict(conv->state_dict());
          out->add(copy);
        }
        float_input = true;
        continue;
      }
      if (float_input) out->add(activation_fq(c));
      if (const auto* lin = as<nn::Linear>(m)) {
        out->add(std::make_shared<QatLinear>(*lin, c.weight));
      } else if (bn) {
        out->add(std::make_shared<QatConvBn2d>(*as<nn::Conv2d>(m), *bn, c.weight));
      } else {
        out->add(std::make_shared<QatConv2d>(*as<nn::Conv2d>(m), c.weight));
      }
      if (has_relu) out->add(nn::ReLU());
      out->add(activation_fq(c));
      i = relu_at - (has_relu ? 0 : 1);
      float_input = false;
      last = &c;
    } else if (const auto* p = as<nn::AvgPool2d>(m)) {
      out->add(nn::AvgPool2d(p->options()));
      if (!float_input) out->add(activation_fq(*last));
    } else if (const auto* g = as<nn::GlobalAvgPool>(m)) {
      out->add(nn::GlobalAvgPool(g->options()));
      if (!float_input) out->add(activation_fq(*last));
    } else if (const auto* mp = as<nn::MaxPool2d>(m)) {
      out->add(nn::MaxPool2d(mp->options()));
    } else if (const auto* f = as<nn::Flatten>(m)) {
      out->add(nn::Flatten(f->options()));
    } else if (as<nn::ReLU>(m)) {
      out->add(nn::ReLU());
    } else {
      fail("prepare", "module '", name, "' (", m->type_name(),
           ") is not supported; known: Conv2d [+BatchNorm2d] [+ReLU], Linear [+ReLU], ReLU, "
           "MaxPool2d, AvgPool2d, GlobalAvgPool, Flatten, Residual [+ReLU], BasicBlock");
    }
  }
}

std::shared_ptr<nn::Sequential> build(const nn::Sequential& model, const QConfig& config) {
  auto out = std::make_shared<nn::Sequential>();
  bool float_input = true;  // is the current tensor a float (not yet fake-quantized) one?
  const LayerQConfig* last = nullptr;
  build_into(*out, model.children(), "", config, float_input, last);
  out->train(model.is_training());
  return out;
}

}  // namespace

std::shared_ptr<nn::Sequential> prepare(const nn::Sequential& model, const QConfig& config) {
  auto out = build(model, config);
  set_observe(*out, true);
  set_fake_quant(*out, false);
  return out;
}

std::shared_ptr<nn::Sequential> prepare_qat(const nn::Sequential& model, const QConfig& config) {
  auto out = build(model, config);
  set_observe(*out, true);
  set_fake_quant(*out, true);
  return out;
}

}  // namespace qgrad::quant
