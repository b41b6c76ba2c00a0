#include "nn/conv2d.h"

#include "core/ops/conv.h"
#include "nn/init.h"

namespace qgrad::nn {

Conv2d::Conv2d(const Conv2dOptions& o, Generator& gen) : options_(o) {
  check(o.in > 0 && o.out > 0 && o.kernel > 0 && o.kernel_w >= 0 && o.stride > 0 && o.padding >= 0 &&
            o.dilation > 0 && o.groups > 0,
        "Conv2d", "needs positive in, out, kernel, stride, dilation, groups and padding >= 0 (",
        cat("in=", o.in, ", out=", o.out, ", kernel=", o.kernel, ", kernel_w=", o.kernel_w, ", stride=", o.stride,
            ", padding=", o.padding, ", dilation=", o.dilation, ", groups=", o.groups), ")");
  check(o.in % o.groups == 0 && o.out % o.groups == 0, "Conv2d", "in=", o.in, " and out=", o.out,
        " must both be divisible by groups=", o.groups);
  weight_ = empty({o.out, o.in / o.groups, kernel_h(), kernel_w()});
  init::default_weight_(weight_, gen);
  register_parameter("weight", weight_);
  if (o.bias) {
    bias_ = empty({o.out});
    init::default_bias_(bias_, weight_, gen);
    register_parameter("bias", bias_);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == options_.in, "Conv2d", "expects input [N, ", options_.in,
        ", H, W], got ", shape_str(x.shape()));
  return qgrad::conv2d(x, weight_, bias_,
                       {.stride = options_.stride, .padding = options_.padding,
                        .dilation = options_.dilation, .groups = options_.groups});
}

std::string Conv2d::options_str() const {
  const auto& o = options_;
  const std::string kernel = kernel_w() == o.kernel ? cat(o.kernel) : cat(o.kernel, "x", kernel_w());
  return cat("in=", o.in, ", out=", o.out, ", kernel=", kernel, ", stride=", o.stride,
             ", padding=", o.padding, ", dilation=", o.dilation, ", groups=", o.groups,
             ", bias=", o.bias ? "true" : "false");
}

}  // namespace qgrad::nn
