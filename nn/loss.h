// Loss functors over the fused ops in core/ops/loss.h (formulas there), for code that wants a
// loss object: `nn::CrossEntropyLoss criterion; Tensor loss = criterion(logits, targets);`.
//   CrossEntropyLoss: logits [N, C] float32, targets [N] int32 class indices -> scalar
//   MSELoss:          pred and target of the same shape -> scalar
#pragma once
#include "core/tensor.h"

namespace qgrad::nn {

struct CrossEntropyLoss {
  Tensor operator()(const Tensor& logits, const Tensor& targets) const;
};

struct MSELoss {
  Tensor operator()(const Tensor& pred, const Tensor& target) const;
};

}  // namespace qgrad::nn
