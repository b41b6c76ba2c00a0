#include "quant/fakequant/trace.h"

#include <algorithm>
#include <typeinfo>
#include <vector>

#include "core/autograd.h"
#include "core/error.h"
#include "nn/add.h"
#include "nn/basic_block.h"
#include "nn/residual.h"

namespace qgrad::quant {

namespace {

bool is_leaf(const nn::Module& m) {
  return m.children().empty() || typeid(m) == typeid(nn::Residual) || typeid(m) == typeid(nn::BasicBlock);
}

// One call of a leaf: the values it read and the value it made. Value 0 is the model input,
// value k + 1 the output of node k.
struct Node {
  const nn::Module* module;
  std::vector<int> in;
  int out;
};

class Recorder : public nn::CallObserver {
 public:
  Recorder(const Tensor& input, const std::map<const nn::Module*, std::string>& paths) : paths_(paths) {
    ids_[input.impl()] = 0;
    keep_.push_back(input);
  }
  void enter(const nn::Module& m) override {
    const bool below_leaf = !stack_.empty() && stack_.back().leaf_here_or_above;
    stack_.push_back({below_leaf || is_leaf(m), is_leaf(m) && !below_leaf});
  }
  void exit(const nn::Module& m, const std::vector<Tensor>& inputs, const Tensor& output) override {
    const Frame frame = stack_.back();
    stack_.pop_back();
    if (!frame.record) return;
    check(inputs.size() == 1 || typeid(m) == typeid(nn::Add), "trace", "module '", path(m), "' (", m.type_name(),
          ") takes ", inputs.size(), " inputs; of the modules with several inputs only nn::Add can be traced");
    Node node{&m, {}, 0};
    for (const Tensor& x : inputs) {
      auto it = ids_.find(x.impl());
      check(it != ids_.end(), "trace", "the input of '", path(m), "' (", m.type_name(),
            ") was computed outside a module (e.g. `a + b` or `x.flatten(1)` in a forward): use nn::Add or "
            "nn::Flatten, so the quantized model can see the operation");
      node.in.push_back(it->second);
      keep_.push_back(x);
    }
    if (ids_.count(output.impl())) return;  // the leaf passed a tensor through (Dropout in eval)
    node.out = static_cast<int>(nodes.size()) + 1;
    ids_[output.impl()] = node.out;
    keep_.push_back(output);
    nodes.push_back(node);
  }
  int id_of(const Tensor& t) const {
    auto it = ids_.find(t.impl());
    return it == ids_.end() ? -1 : it->second;
  }
  std::string path(const nn::Module& m) const {
    auto it = paths_.find(&m);
    return it == paths_.end() ? std::string("(the model)") : it->second;
  }
  std::vector<Node> nodes;

 private:
  struct Frame {
    bool leaf_here_or_above, record;
  };
  const std::map<const nn::Module*, std::string>& paths_;
  std::map<const TensorImpl*, int> ids_;
  std::vector<Tensor> keep_;  // alive until the trace ends, so no address is reused
  std::vector<Frame> stack_;
};

// Installs a recorder for the duration of one forward, also when the forward throws.
struct ObserverScope {
  explicit ObserverScope(nn::CallObserver* o) : previous(nn::set_call_observer(o)) {}
  ~ObserverScope() { nn::set_call_observer(previous); }
  nn::CallObserver* previous;
};

// Rebuilds the recorded graph as a Sequential (see the header): chain(from, to) is the run of
// leaves that turns value `from` into value `to`.
class Builder {
 public:
  Builder(const std::vector<Node>& nodes, const Recorder& recorder,
          const std::map<const nn::Module*, nn::ModulePtr>& owners, TracedModel& out)
      : nodes_(nodes), recorder_(recorder), owners_(owners), out_(out), used_(nodes.size(), false) {}

  std::shared_ptr<nn::Sequential> chain(int from, int to) {
    auto seq = std::make_shared<nn::Sequential>();
    for (int v = from; v != to;) {
      // The unused leaves that read v on the way to `to`.
      std::vector<size_t> readers;
      for (size_t k = 0; k < nodes_.size(); ++k)
        if (!used_[k] && reads(k, v) && reaches(nodes_[k].out, to)) readers.push_back(k);
      check(!readers.empty(), "trace", "no module leads from the value made by ", who(v), " to the model output");
      if (readers.size() == 1 && nodes_[readers[0]].in.size() == 1) {
        const size_t k = readers[0];
        used_[k] = true;
        seq->add(owner(k));
        v = nodes_[k].out;
        continue;
      }
      const size_t j = join(v, readers);
      const Node& add = nodes_[j];
      used_[j] = true;
      auto body = chain(v, add.in[0]), shortcut = chain(v, add.in[1]);
      if (body->size() == 0) std::swap(body, shortcut);
      check(body->size() > 0, "trace", recorder_.path(*add.module), " adds a tensor to itself");
      auto residual = shortcut->size() > 0 ? std::make_shared<nn::Residual>(body, shortcut)
                                           : std::make_shared<nn::Residual>(body);
      out_.paths[residual.get()] = recorder_.path(*add.module);
      seq->add(residual);
      v = add.out;
    }
    return seq;
  }

  void check_all_used() const {
    for (size_t k = 0; k < nodes_.size(); ++k)
      check(used_[k], "trace", "module '", recorder_.path(*nodes_[k].module), "' (", nodes_[k].module->type_name(),
            ") computes something the model output does not depend on, or joins branches in a way a residual "
            "add cannot express");
  }

 private:
  bool reads(size_t k, int v) const {
    return std::find(nodes_[k].in.begin(), nodes_[k].in.end(), v) != nodes_[k].in.end();
  }
  // Whether value `to` depends on value `from` (or is it). Node k reads only earlier values.
  bool reaches(int from, int to) const {
    if (from == to) return true;
    std::vector<bool> live(nodes_.size() + 1, false);
    live[static_cast<size_t>(from)] = true;
    for (size_t k = static_cast<size_t>(from); k < nodes_.size(); ++k)
      for (int i : nodes_[k].in)
        if (live[static_cast<size_t>(i)]) live[static_cast<size_t>(nodes_[k].out)] = true;
    return live[static_cast<size_t>(to)];
  }
  // The add that joins the branches leaving v: the first nn::Add whose two inputs both depend on
  // v and that every reader of v leads into (or is).
  size_t join(int v, const std::vector<size_t>& readers) const {
    for (size_t j = 0; j < nodes_.size(); ++j) {
      const Node& a = nodes_[j];
      if (used_[j] || a.in.size() != 2 || !reaches(v, a.in[0]) || !reaches(v, a.in[1])) continue;
      const bool covers = std::all_of(readers.begin(), readers.end(), [&](size_t r) {
        return r == j || reaches(nodes_[r].out, a.in[0]) || reaches(nodes_[r].out, a.in[1]);
      });
      if (covers) return j;
    }
    fail("trace", "the value made by ", who(v), " is read by ", readers.size(), " modules (first '",
         recorder_.path(*nodes_[readers[0]].module), "') that no nn::Add joins again; traced models may only fork "
         "into branches that one add joins (a residual connection)");
  }
  nn::ModulePtr owner(size_t k) const {
    auto it = owners_.find(nodes_[k].module);
    check(it != owners_.end(), "trace", "the model itself is a leaf (", nodes_[k].module->type_name(),
          "): trace a container of it");
    out_.paths[it->second.get()] = recorder_.path(*nodes_[k].module);
    return it->second;
  }
  std::string who(int v) const {
    if (v == 0) return "the model input";
    const nn::Module& m = *nodes_[static_cast<size_t>(v - 1)].module;
    return cat("'", recorder_.path(m), "' (", m.type_name(), ")");
  }

  const std::vector<Node>& nodes_;
  const Recorder& recorder_;
  const std::map<const nn::Module*, nn::ModulePtr>& owners_;
  TracedModel& out_;
  std::vector<bool> used_;
};

}  // namespace

TracedModel trace(nn::Module& model, const Tensor& example) {
  std::map<const nn::Module*, std::string> paths;
  std::map<const nn::Module*, nn::ModulePtr> owners;
  for (const auto& [path, m] : model.named_modules()) {
    paths.emplace(m.get(), path);
    owners.emplace(m.get(), m);
  }
  Recorder recorder(example, paths);
  Tensor output;
  const bool training = model.is_training();
  model.eval();  // tracing must not move BatchNorm's running statistics or draw dropout masks
  try {
    NoGradGuard no_grad;
    ObserverScope scope(&recorder);
    output = model(example);
  } catch (...) {
    model.train(training);
    throw;
  }
  model.train(training);
  const int out = recorder.id_of(output);
  check(out >= 0, "trace", "the model's output was computed outside a module (e.g. `a + b` in its forward): use "
        "nn::Add or the layer's module");
  TracedModel traced;
  Builder builder(recorder.nodes, recorder, owners, traced);
  traced.sequential = builder.chain(0, out);
  builder.check_all_used();
  traced.sequential->train(training);
  return traced;
}

}  // namespace qgrad::quant
