// Optimizer: the base of SGD and Adam/AdamW. It holds handles to the parameters it updates
// and, per parameter, a step count and named state slots shaped like the parameter (momentum
// buffer, Adam's moments). Updates run under NoGradGuard directly on the parameters' float32
// data — no graph — and skip parameters whose .grad is undefined (as PyTorch does).
// On a CUDA parameter the update is one fused kernel (core/backend/cuda_backend.h) with the
// same formulas; the state slots follow their parameter's device (a model moved with
// Module::to after the optimizer was made takes its optimizer state along at the next step).
//
// state_dict() names entries "<i>.<slot>" and "<i>.step" (i = the parameter's index in the
// list given at construction) plus "lr", so training resumes exactly after a load.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/state_dict.h"

namespace qgrad::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual void step() = 0;
  void zero_grad();  // drops every parameter's .grad
  float lr() const { return lr_; }
  void set_lr(float lr);
  const std::vector<Tensor>& params() const { return params_; }
  // Steps taken so far (restored by load_state_dict): the largest per-parameter count, i.e. the
  // step() calls in which some parameter had a gradient.
  int64_t steps() const;

  nn::StateDict state_dict() const;
  // Strict: every expected entry present with the right shape and dtype, no others.
  void load_state_dict(const nn::StateDict& sd);

 protected:
  // slots: the per-parameter state this optimizer keeps, allocated as zeros.
  Optimizer(std::vector<Tensor> params, float lr, const char* name,
            const std::vector<std::string>& slots);

  // Calls update(i, n, p, g) for every parameter with a gradient, after bumping its step
  // count: p points at the n contiguous float32 values of parameter i, g at its gradient, both
  // in the parameter's device memory (params()[i].device() says which).
  template <class F>
  void for_each_update(F update);
  float* slot(size_t i, const std::string& name);
  int64_t step_count(size_t i) const { return steps_[i]; }

  const char* name_;

 private:
  std::vector<Tensor> params_;
  float lr_;
  std::vector<int64_t> steps_;
  std::vector<std::map<std::string, Tensor>> slots_;
};

template <class F>
void Optimizer::for_each_update(F update) {
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = params_[i].grad();
    if (!g.defined()) continue;
    check(g.shape() == params_[i].shape(), name_, "gradient of parameter ", i, " has shape ",
          shape_str(g.shape()), ", the parameter ", shape_str(params_[i].shape()));
    check(g.device() == params_[i].device(), name_, "gradient of parameter ", i, " is on ",
          device_name(g.device()), ", the parameter on ", device_name(params_[i].device()));
    Tensor gc = g.contiguous();
    for (auto& [slot_name, t] : slots_[i]) t.to_(params_[i].device());
    ++steps_[i];
    update(i, params_[i].numel(), params_[i].device_data<float>(), gc.device_data<float>());
  }
}

}  // namespace qgrad::optim
