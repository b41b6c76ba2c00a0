// Add: y = a + b as a module. A model whose forward joins two branches (a residual connection
// written by hand) adds them with an Add it registered, rather than with `a + b`, so that the
// call is visible: quant/fakequant/trace.h follows the data flow through module calls, and the
// integer model needs to know where an add is to requantize it (quant/intmodel/int_residual.h).
// In float it is exactly add(a, b), broadcasting included.
#pragma once
#include <string>

#include "nn/module.h"

namespace qgrad::nn {

class Add : public Module {
 public:
  using Module::operator();
  Tensor operator()(const Tensor& a, const Tensor& b);
  // An add needs two inputs: forward(x) fails, naming the module.
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Add"; }
};

}  // namespace qgrad::nn
