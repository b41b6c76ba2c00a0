#include "nn/loss.h"

#include "core/ops/loss.h"

namespace qgrad::nn {

Tensor CrossEntropyLoss::operator()(const Tensor& logits, const Tensor& targets) const {
  return cross_entropy(logits, targets);
}

Tensor MSELoss::operator()(const Tensor& pred, const Tensor& target) const {
  return mse_loss(pred, target);
}

}  // namespace qgrad::nn
