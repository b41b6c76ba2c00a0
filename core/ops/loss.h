// Losses, averaged over the batch.
//   cross_entropy(logits [N, C], targets int32 [N]) = mean_n ( -log_softmax(logits)[n, t_n] )
//       fused and numerically stable; gradient (softmax(logits) - onehot(t)) / N.
//       Targets outside [0, C) are an error naming the offending value.
//   mse_loss(pred, target) = mean((pred - target)^2), same shapes.
#pragma once
#include "core/tensor.h"

namespace qgrad {

Tensor cross_entropy(const Tensor& logits, const Tensor& targets);
Tensor mse_loss(const Tensor& pred, const Tensor& target);

}  // namespace qgrad
