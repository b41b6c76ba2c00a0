#include "nn/optim/sgd.h"

#include "core/autograd.h"
#include "core/backend/cuda_backend.h"

namespace qgrad::optim {

namespace {
std::vector<std::string> sgd_slots(const SGDOptions& o) {
  if (o.momentum == 0.f) return {};
  return {"momentum_buffer"};
}
}  // namespace

SGD::SGD(std::vector<Tensor> params, const SGDOptions& o)
    : Optimizer(std::move(params), o.lr, "SGD", sgd_slots(o)), options_(o) {
  check(o.momentum >= 0.f && o.weight_decay >= 0.f, "SGD", "momentum (", o.momentum,
        ") and weight_decay (", o.weight_decay, ") must be >= 0");
  check(!o.nesterov || (o.momentum > 0.f && o.dampening == 0.f), "SGD",
        "nesterov needs momentum > 0 and dampening 0 (momentum=", o.momentum,
        ", dampening=", o.dampening, ")");
}

void SGD::step() {
  NoGradGuard no_grad;
  const SGDOptions& o = options_;
  const float lr = this->lr();
  for_each_update([&](size_t i, int64_t n, float* p, const float* grad) {
    float* buf = o.momentum != 0.f ? slot(i, "momentum_buffer") : nullptr;
    const bool first = step_count(i) == 1;
    if (params()[i].device() == Device::CUDA) {
      cuda_sgd_update(p, grad, buf, n, {lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, first});
      return;
    }
    for (int64_t k = 0; k < n; ++k) {
      float g = grad[k] + o.weight_decay * p[k];
      if (buf) {
        buf[k] = first ? g : o.momentum * buf[k] + (1.f - o.dampening) * g;
        g = o.nesterov ? g + o.momentum * buf[k] : buf[k];
      }
      p[k] -= lr * g;
    }
  });
}

}  // namespace qgrad::optim
