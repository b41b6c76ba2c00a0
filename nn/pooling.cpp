#include "nn/pooling.h"

#include "core/ops/reduce.h"

namespace qgrad::nn {

namespace {
std::string pool_str(const Pool2dOptions& o) {
  return cat("kernel=", o.kernel, ", stride=", o.stride == 0 ? o.kernel : o.stride,
             ", padding=", o.padding);
}
}  // namespace

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, options_); }
std::string MaxPool2d::options_str() const { return pool_str(options_); }

Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, options_); }
std::string AvgPool2d::options_str() const { return pool_str(options_); }

Tensor GlobalAvgPool::forward(const Tensor& x) {
  check(x.dim() == 4, "GlobalAvgPool", "expects input [N, C, H, W], got ", shape_str(x.shape()));
  return mean(x, {2, 3}, options_.keepdim);
}
std::string GlobalAvgPool::options_str() const {
  return cat("keepdim=", options_.keepdim ? "true" : "false");
}

}  // namespace qgrad::nn
