// Batch normalization over the channel axis (axis 1), as in PyTorch's F.batch_norm.
//   x [N, C, ...]: channel c's n values are x[:, c, ...] (n = N times the spatial size).
//   training: mean, var = the batch's mean and biased variance of each channel
//   eval:     mean, var = given (running) statistics, constants
//   y = (x - mean) / sqrt(var + eps) * weight + bias    (weight, bias [C]; undefined = 1, 0)
// Backward in training, with istd = 1 / sqrt(var + eps), xhat = (x - mean) istd, sums over a
// channel's n values (the statistics depend on x, hence the two correction terms):
//   dx      = weight istd (g - sum(g) / n - xhat sum(g xhat) / n)
//   dweight = sum(g xhat),   dbias = sum(g)
// Eval is an affine map per channel, y = a x + b with a = weight istd, b = bias - mean a.
// On the CPU both run fused: two passes over x forward and two backward (cpu_batch_norm.h). The
// *_reference versions compose the same formula from generic ops: they are the specification
// the fused ones are tested against, and what runs on other devices.
#pragma once
#include "core/tensor.h"

namespace qgrad {

struct BatchNormOutput {
  Tensor y;
  Tensor mean, var;  // [C], the batch statistics (var biased), not part of the graph
};

BatchNormOutput batch_norm_training(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps);
Tensor batch_norm_eval(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& weight,
                       const Tensor& bias, float eps);

BatchNormOutput batch_norm_training_reference(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                              float eps);
Tensor batch_norm_eval_reference(const Tensor& x, const Tensor& mean, const Tensor& var,
                                 const Tensor& weight, const Tensor& bias, float eps);

}  // namespace qgrad
