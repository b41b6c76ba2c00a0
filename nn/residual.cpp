#include "nn/residual.h"

#include "core/ops/elementwise.h"

namespace qgrad::nn {

void Residual::set_body(ModulePtr body) { body_ = register_module("body", std::move(body)); }

void Residual::set_shortcut(ModulePtr shortcut) {
  shortcut_ = register_module("shortcut", std::move(shortcut));
}

Tensor Residual::forward(const Tensor& x) {
  Tensor y = (*body_)(x);
  Tensor s = shortcut_ ? (*shortcut_)(x) : x;
  check(y.shape() == s.shape(), type_name().c_str(), "body output ", shape_str(y.shape()),
        " and shortcut output ", shape_str(s.shape()),
        " differ; give the block a projection shortcut");
  return add(y, s);
}

}  // namespace qgrad::nn
