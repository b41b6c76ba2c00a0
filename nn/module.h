// Module: the base of every layer. A module owns named parameters (trainable float32 leaves),
// named buffers (state that is saved but not trained, e.g. BatchNorm's running statistics) and
// named child modules; names compose into dotted paths ("features.0.weight") exactly as in
// PyTorch, so state dicts line up with theirs.
//
// Modules are held by std::shared_ptr and are move-only. A subclass registers what it owns in
// its constructor and keeps its own handles to it (a Tensor is a handle, so the registry and
// the member see the same data); loading a state dict copies values *into* those tensors.
//
// Children must be called through operator(), not forward(): operator() is where summary()
// observes each layer's output.
#pragma once
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/state_dict.h"

namespace qgrad::nn {

class Module;

// Sees every call made through Module::operator() (and the calls multi-input modules such as
// nn::Add report themselves): enter before the module's forward runs, exit after, so calls
// nest. quant/fakequant/trace.h follows a model's data flow with it. One per thread at a time.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void enter(const Module& m) = 0;
  virtual void exit(const Module& m, const std::vector<Tensor>& inputs, const Tensor& output) = 0;
};
// Installs observer for this thread (null: none); returns the one it replaces.
CallObserver* set_call_observer(CallObserver* observer);
CallObserver* call_observer();

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = default;
  Module& operator=(Module&&) = default;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x);

  // "Linear", "Conv2d", ...; and the options that shaped it, "in=3, out=16" (for repr/summary).
  virtual std::string type_name() const = 0;
  virtual std::string options_str() const { return ""; }

  // --- what the module owns, recursively, in registration order ---------------------------
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // Every module below this one (not itself), with its dotted path.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }
  int64_t num_parameters() const;  // total number of trainable scalars
  // Swaps the child registered as `name` for m, in place (PyTorch's `model.name = m` on an
  // existing child): what eager-mode quantization does to turn a layer into its quantized
  // twin while the parent's forward stays as it is. Fails when no child has that name.
  // Sequential runs its registered children, so it calls m; a C++ layer that keeps a member
  // handle to its child (Residual, BasicBlock) would go on calling the old one.
  void replace_module(const std::string& name, std::shared_ptr<Module> m);

  // --- mode ---------------------------------------------------------------------------------
  void train(bool on = true);  // recursively; layers such as Dropout and BatchNorm read it
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();  // drops .grad of every parameter

  // --- device -------------------------------------------------------------------------------
  // Moves every parameter (with its .grad) and buffer to `device`, in place (Tensor::to_): the
  // module's handles, an optimizer's and any other keep pointing at the same tensors, and an
  // optimizer's state follows its parameters at its next step. Returns *this.
  Module& to(Device device);
  // The device of the first parameter (or buffer); CPU for a module that owns none.
  Device device() const;

  // --- state --------------------------------------------------------------------------------
  // Parameters and buffers by dotted name. The tensors share storage with the module
  // (detached handles), so clone() them to keep a snapshot.
  StateDict state_dict() const;
  // Strict: every name must be present with the same shape and dtype, and no extra names are
  // allowed; each violation is a qgrad::Error naming the tensor. Checks everything before
  // changing anything, so a failed load leaves the module as it was.
  void load_state_dict(const StateDict& sd);

  // PyTorch-style tree: "Sequential(\n  (0): Linear(in=2, out=8, bias=true)\n ...)".
  std::string repr() const;
  // Runs a zero input of input_shape (no graph) and prints every layer it passes through, its
  // output shape and its own parameter count, then the total.
  // Runs in eval mode (so running statistics are untouched), restoring the modes after.
  void summary(const Shape& input_shape, std::ostream& os);
  void summary(const Shape& input_shape);

 protected:
  // Registers a float32 tensor as a trainable parameter (sets requires_grad) and returns it.
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

 private:
  void check_new_name(const std::string& name) const;
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void collect(const std::string& prefix, bool buffers,
               std::vector<std::pair<std::string, Tensor>>& out) const;

  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

using ModulePtr = std::shared_ptr<Module>;

// Turns a module given by value into a shared_ptr (and passes a shared_ptr through), so
// containers accept both `Linear({...})` and `std::make_shared<Linear>(...)`.
template <class M>
  requires std::is_base_of_v<Module, std::decay_t<M>>
std::shared_ptr<std::decay_t<M>> to_module_ptr(M&& m) {
  return std::make_shared<std::decay_t<M>>(std::forward<M>(m));
}
template <class M>
  requires std::is_base_of_v<Module, M>
std::shared_ptr<M> to_module_ptr(std::shared_ptr<M> m) {
  return m;
}

}  // namespace qgrad::nn
