#include "nn/optim/adam.h"

#include <cmath>

#include "core/autograd.h"
#include "core/backend/cuda_backend.h"

namespace qgrad::optim {

Adam::Adam(std::vector<Tensor> params, const AdamOptions& o)
    : Adam(std::move(params), o, false, "Adam") {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& o, bool decoupled, const char* name)
    : Optimizer(std::move(params), o.lr, name, {"exp_avg", "exp_avg_sq"}),
      options_(o),
      decoupled_(decoupled) {
  check(o.beta1 >= 0.f && o.beta1 < 1.f && o.beta2 >= 0.f && o.beta2 < 1.f, name,
        "betas must be in [0, 1), got (", o.beta1, ", ", o.beta2, ")");
  check(o.eps > 0.f && o.weight_decay >= 0.f, name, "eps (", o.eps, ") must be > 0 and "
        "weight_decay (", o.weight_decay, ") >= 0");
}

void Adam::step() {
  NoGradGuard no_grad;
  const AdamOptions& o = options_;
  const float lr = this->lr();
  for_each_update([&](size_t i, int64_t n, float* p, const float* grad) {
    float* m = slot(i, "exp_avg");
    float* v = slot(i, "exp_avg_sq");
    // Bias corrections in double, as PyTorch computes them with Python floats.
    const double t = static_cast<double>(step_count(i));
    const float step_size = static_cast<float>(lr / (1.0 - std::pow(double(o.beta1), t)));
    const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(double(o.beta2), t)));
    if (params()[i].device() == Device::CUDA) {
      cuda_adam_update(p, grad, m, v, n,
                       {lr, o.beta1, o.beta2, o.eps, o.weight_decay, decoupled_, step_size, bc2_sqrt});
      return;
    }
    for (int64_t k = 0; k < n; ++k) {
      float g = grad[k];
      if (decoupled_) {
        p[k] *= 1.f - lr * o.weight_decay;
      } else {
        g += o.weight_decay * p[k];
      }
      m[k] = o.beta1 * m[k] + (1.f - o.beta1) * g;
      v[k] = o.beta2 * v[k] + (1.f - o.beta2) * g * g;
      p[k] -= step_size * m[k] / (std::sqrt(v[k]) / bc2_sqrt + o.eps);
    }
  });
}

}  // namespace qgrad::optim
