// Pooling layers over NCHW tensors.
//   MaxPool2d / AvgPool2d: square windows, options and shapes as in core/ops/pool.h.
//   GlobalAvgPool: y[n, c] = mean over h, w of x[n, c, h, w] — AdaptiveAvgPool2d to 1x1;
//                  out [N, C] (or [N, C, 1, 1] with keepdim), as at the end of a ResNet.
#pragma once
#include <string>

#include "core/ops/pool.h"
#include "nn/module.h"

namespace qgrad::nn {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const Pool2dOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "MaxPool2d"; }
  std::string options_str() const override;
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const Pool2dOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "AvgPool2d"; }
  std::string options_str() const override;
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

struct GlobalAvgPoolOptions {
  bool keepdim = false;
};

class GlobalAvgPool : public Module {
 public:
  explicit GlobalAvgPool(const GlobalAvgPoolOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "GlobalAvgPool"; }
  std::string options_str() const override;
  const GlobalAvgPoolOptions& options() const { return options_; }

 private:
  GlobalAvgPoolOptions options_;
};

}  // namespace qgrad::nn
