// Stochastic gradient descent with PyTorch's exact update rule (torch.optim.SGD):
//   g   = grad + weight_decay * p
//   buf = g                                        on a parameter's first step
//   buf = momentum * buf + (1 - dampening) * g     afterwards          (only if momentum != 0)
//   g   = nesterov ? g + momentum * buf : buf                          (only if momentum != 0)
//   p   = p - lr * g
#pragma once
#include <vector>

#include "nn/optim/optimizer.h"

namespace qgrad::optim {

struct SGDOptions {
  float lr = 0.01f;
  float momentum = 0.f;
  float dampening = 0.f;
  bool nesterov = false;  // needs momentum > 0 and dampening == 0
  float weight_decay = 0.f;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  void step() override;
  const SGDOptions& options() const { return options_; }

 private:
  SGDOptions options_;
};

}  // namespace qgrad::optim
