// Conv2d over NCHW images (the op and its shape formula live in core/ops/conv.h).
//   x [N, in, H, W], weight [out, in/groups, kernel, kernel], bias [out], y [N, out, Ho, Wo]
// Initialized like PyTorch (nn/init.h), fan_in = in/groups * kernel^2.
#pragma once
#include <string>

#include "core/random.h"
#include "nn/module.h"

namespace qgrad::nn {

struct Conv2dOptions {
  int64_t in = 0;
  int64_t out = 0;
  int64_t kernel = 3;  // square kernel
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string options_str() const override;

  const Conv2dOptions& options() const { return options_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined when options().bias is false

 private:
  Conv2dOptions options_;
  Tensor weight_, bias_;
};

}  // namespace qgrad::nn
