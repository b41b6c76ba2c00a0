// Fused optimizer updates on the device: one kernel per parameter applies, per element, exactly
// the formulas of nn/optim/sgd.cpp and nn/optim/adam.cpp (declared in core/backend/cuda_backend.h).
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda_backend.h"

namespace qgrad {

namespace cuda {
namespace {

__global__ void sgd_kernel(float* p, const float* grad, float* buf, int64_t n, SgdStep s) {
  for (int64_t k = first_index(); k < n; k += grid_stride()) {
    float g = grad[k] + s.weight_decay * p[k];
    if (buf) {
      buf[k] = s.first ? g : s.momentum * buf[k] + (1.f - s.dampening) * g;
      g = s.nesterov ? g + s.momentum * buf[k] : buf[k];
    }
    p[k] -= s.lr * g;
  }
}

__global__ void adam_kernel(float* p, const float* grad, float* m, float* v, int64_t n, AdamStep s) {
  for (int64_t k = first_index(); k < n; k += grid_stride()) {
    float g = grad[k];
    if (s.decoupled) p[k] *= 1.f - s.lr * s.weight_decay;
    else g += s.weight_decay * p[k];
    m[k] = s.beta1 * m[k] + (1.f - s.beta1) * g;
    v[k] = s.beta2 * v[k] + (1.f - s.beta2) * g * g;
    p[k] -= s.step_size * m[k] / (sqrtf(v[k]) / s.bc2_sqrt + s.eps);
  }
}

}  // namespace
}  // namespace cuda

using namespace cuda;

void cuda_sgd_update(float* p, const float* grad, float* momentum_buffer, int64_t n, const SgdStep& s) {
  if (n == 0) return;
  sgd_kernel<<<blocks_for(n), kThreads>>>(p, grad, momentum_buffer, n, s);
  QGRAD_CUDA_CHECK_LAUNCH();
}

void cuda_adam_update(float* p, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                      const AdamStep& s) {
  if (n == 0) return;
  adam_kernel<<<blocks_for(n), kThreads>>>(p, grad, exp_avg, exp_avg_sq, n, s);
  QGRAD_CUDA_CHECK_LAUNCH();
}

}  // namespace qgrad
