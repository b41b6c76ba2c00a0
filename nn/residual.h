// Residual connections (He et al. 2016).
//   Residual:   y = body(x) + shortcut(x), shortcut = identity unless a projection is given
//               (needed when body changes the shape, e.g. a strided conv + BatchNorm).
//   BasicBlock: y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the ResNet-18/34 block:
//               conv1 3x3 stride s, conv2 3x3 stride 1, both without bias (BatchNorm follows);
//               shortcut = conv 1x1 stride s + BatchNorm when s != 1 or in != out.
// Parameters are named "body.0.weight", ..., "shortcut.0.weight".
#pragma once
#include <string>

#include "core/random.h"
#include "nn/module.h"

namespace qgrad::nn {

class Residual : public Module {
 public:
  // body and shortcut: modules by value or std::shared_ptrs.
  template <class B>
    requires(!std::is_base_of_v<Residual, std::decay_t<B>>)
  explicit Residual(B&& body) {
    set_body(to_module_ptr(std::forward<B>(body)));
  }
  template <class B, class S>
  Residual(B&& body, S&& shortcut) {
    set_body(to_module_ptr(std::forward<B>(body)));
    set_shortcut(to_module_ptr(std::forward<S>(shortcut)));
  }
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Residual"; }

 protected:
  Residual() = default;
  void set_body(ModulePtr body);
  void set_shortcut(ModulePtr shortcut);

 private:
  ModulePtr body_, shortcut_;
};

struct BasicBlockOptions {
  int64_t in = 0;
  int64_t out = 0;
  int64_t stride = 1;
};

class BasicBlock : public Residual {
 public:
  explicit BasicBlock(const BasicBlockOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }
  std::string options_str() const override;

 private:
  BasicBlockOptions options_;
};

}  // namespace qgrad::nn
