// Sequential: runs its children in order, y = f_n(... f_1(x)). Children are named "0", "1", ...
// so parameters read "0.weight", "2.bias" as in torch.nn.Sequential.
//   nn::Sequential net(nn::Linear({.in = 2, .out = 8}), nn::ReLU(), nn::Linear({.in = 8, .out = 2}));
#pragma once
#include <string>

#include "nn/module.h"

namespace qgrad::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  // Each argument is a module by value or a std::shared_ptr to one.
  template <class... Ms>
    requires(sizeof...(Ms) > 0)
  explicit Sequential(Ms&&... modules) {
    (add(std::forward<Ms>(modules)), ...);
  }

  template <class M>
  auto add(M&& module) {
    auto p = to_module_ptr(std::forward<M>(module));
    register_module(std::to_string(size()), p);
    return p;
  }
  size_t size() const { return children().size(); }
  const ModulePtr& operator[](size_t i) const;

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
};

}  // namespace qgrad::nn
