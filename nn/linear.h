// Linear (fully connected): y = x W^T + b.
//   x [N, in], W [out, in], b [out], y [N, out]
// Initialized like PyTorch (nn/init.h): W ~ U(-1/sqrt(in), 1/sqrt(in)), b likewise.
#pragma once
#include <string>

#include "core/random.h"
#include "nn/module.h"

namespace qgrad::nn {

struct LinearOptions {
  int64_t in = 0;
  int64_t out = 0;
  bool bias = true;
};

class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string options_str() const override;

  const LinearOptions& options() const { return options_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined when options().bias is false

 private:
  LinearOptions options_;
  Tensor weight_, bias_;
};

}  // namespace qgrad::nn
