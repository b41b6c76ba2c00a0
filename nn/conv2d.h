// Conv2d over NCHW images (the op and its shape formula live in core/ops/conv.h).
//   x [N, in, H, W], weight [out, in/groups, kH, kW], bias [out], y [N, out, Ho, Wo]
//   kH = kernel, kW = kernel_w when set (a non-square kernel, e.g. 1x3), else kernel
// Initialized like PyTorch (nn/init.h), fan_in = in/groups * kH * kW.
#pragma once
#include <string>

#include "core/random.h"
#include "nn/module.h"

namespace qgrad::nn {

struct Conv2dOptions {
  int64_t in = 0;
  int64_t out = 0;
  int64_t kernel = 3;    // kernel x kernel, or kernel x kernel_w (height x width)
  int64_t kernel_w = 0;  // 0: the kernel is square
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
  int64_t kernel_h() const { return options_.kernel; }
  int64_t kernel_w() const { return options_.kernel_w > 0 ? options_.kernel_w : options_.kernel; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined when options().bias is false

 private:
  Conv2dOptions options_;
  Tensor weight_, bias_;
};

}  // namespace qgrad::nn
