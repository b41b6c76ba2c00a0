// Helpers shared by the nn tests: a tiny module with a parameter, a buffer and a child, so
// Module's bookkeeping is tested without any layer. Scratch directories come from the data
// tests' TempDir (data/data_files.h).
#pragma once
#include <string>

#include "data/data_files.h"
#include "nn/nn.h"
#include "qgrad.h"

namespace qgrad::testing {

// y = x * scale (per last axis) + child(x); holds a buffer "calls" counting forward passes.
class ScaleModule : public nn::Module {
 public:
  explicit ScaleModule(int64_t n, bool with_child = true) {
    scale_ = register_parameter("scale", full({n}, 2.f));
    calls_ = register_buffer("calls", zeros({1}, DType::Int32));
    if (with_child) child_ = register_module("inner", std::make_shared<ScaleModule>(n, false));
  }
  Tensor forward(const Tensor& x) override {
    calls_.data<int32_t>()[0] += 1;
    Tensor y = mul(x, scale_);
    return child_ ? add(y, (*child_)(x)) : y;
  }
  std::string type_name() const override { return "ScaleModule"; }
  const Tensor& scale() const { return scale_; }

  // Exposed so tests can provoke registration errors.
  void add_param(const std::string& name) { register_parameter(name, zeros({1})); }

 private:
  Tensor scale_, calls_;
  std::shared_ptr<ScaleModule> child_;
};

}  // namespace qgrad::testing
