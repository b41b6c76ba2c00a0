// Residual connection (He et al. 2016): y = body(x) + shortcut(x), the shortcut being the
// identity unless a projection is given (needed when body changes the shape, e.g. a strided
// conv + BatchNorm). Parameters are named "body.<...>" and "shortcut.<...>".
#pragma once
#include <string>

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

}  // namespace qgrad::nn
