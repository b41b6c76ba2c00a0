// Batch normalization over the channel axis (axis 1), as in PyTorch.
//   x [N, C] or [N, C, L] (BatchNorm1d), [N, C, H, W] (BatchNorm2d); statistics per channel c
//   over the n = N * (spatial size) values of that channel.
//   train: mu = mean(x_c), var = mean((x_c - mu)^2)             (biased, used to normalize)
//          running_mean <- (1 - momentum) running_mean + momentum mu
//          running_var  <- (1 - momentum) running_var  + momentum var * n / (n - 1)  (unbiased)
//   eval:  mu, var = running_mean, running_var
//   y = (x - mu) / sqrt(var + eps) * gamma + beta        (gamma = weight, beta = bias if affine)
// The arithmetic, and its backward through mu and var, is core/ops/normalization.h.
#pragma once
#include <string>

#include "nn/module.h"

namespace qgrad::nn {

struct BatchNormOptions {
  int64_t features = 0;  // C
  float eps = 1e-5f;
  float momentum = 0.1f;
  bool affine = true;
};

class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string options_str() const override;

  const BatchNormOptions& options() const { return options_; }
  const Tensor& weight() const { return weight_; }  // gamma [C], undefined unless affine
  const Tensor& bias() const { return bias_; }      // beta [C], undefined unless affine
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }

 protected:
  // ranks: the input ranks this variant accepts (e.g. {2, 3} for BatchNorm1d).
  BatchNorm(const BatchNormOptions& options, std::vector<int64_t> ranks);

 private:
  BatchNormOptions options_;
  std::vector<int64_t> ranks_;
  Tensor weight_, bias_, running_mean_, running_var_;
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(const BatchNormOptions& options) : BatchNorm(options, {2, 3}) {}
  std::string type_name() const override { return "BatchNorm1d"; }
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(const BatchNormOptions& options) : BatchNorm(options, {4}) {}
  std::string type_name() const override { return "BatchNorm2d"; }
};

}  // namespace qgrad::nn
