#include "nn/optim/optimizer.h"

#include <algorithm>
#include <set>

namespace qgrad::optim {

Optimizer::Optimizer(std::vector<Tensor> params, float lr, const char* name,
                     const std::vector<std::string>& slots)
    : name_(name), params_(std::move(params)), lr_(lr) {
  check(!params_.empty(), name_, "got an empty parameter list");
  set_lr(lr);
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    check(p.defined() && p.dtype() == DType::Float32 && p.is_contiguous(), name_, "parameter ", i,
          " must be a defined, contiguous float32 tensor");
    std::map<std::string, Tensor> s;
    for (const auto& slot_name : slots) s[slot_name] = zeros(p.shape(), DType::Float32, p.device());
    slots_.push_back(std::move(s));
  }
  steps_.assign(params_.size(), 0);
}

void Optimizer::set_lr(float lr) {
  check(lr >= 0.f, name_, "learning rate must be >= 0, got ", lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

float* Optimizer::slot(size_t i, const std::string& name) { return slots_[i].at(name).device_data<float>(); }

int64_t Optimizer::steps() const {
  int64_t most = 0;
  for (int64_t s : steps_) most = std::max(most, s);
  return most;
}

nn::StateDict Optimizer::state_dict() const {
  nn::StateDict sd;
  sd["lr"] = scalar_tensor(lr_);
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    sd[prefix + "step"] = from_vector<int32_t>({static_cast<int32_t>(steps_[i])}, {});
    for (const auto& [name, t] : slots_[i]) sd[prefix + name] = t.detach();
  }
  return sd;
}

void Optimizer::load_state_dict(const nn::StateDict& sd) {
  const std::string op = std::string(name_) + "::load_state_dict";
  std::set<std::string> expected{"lr"};
  const Tensor& lr = nn::require_entry(sd, "lr", {}, DType::Float32, op.c_str());
  std::vector<int64_t> steps(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    const Tensor& s = nn::require_entry(sd, prefix + "step", {}, DType::Int32, op.c_str());
    steps[i] = s.to_vector<int32_t>()[0];
    check(steps[i] >= 0, op.c_str(), "tensor '", prefix, "step' is negative (", steps[i], ")");
    expected.insert(prefix + "step");
    for (const auto& [name, t] : slots_[i]) {
      nn::require_entry(sd, prefix + name, t.shape(), DType::Float32, op.c_str());
      expected.insert(prefix + name);
    }
  }
  for (const auto& [name, t] : sd)
    check(expected.count(name) == 1, op.c_str(), "unexpected tensor '", name, "'");
  set_lr(lr.item());
  steps_ = steps;
  for (size_t i = 0; i < params_.size(); ++i)
    for (auto& [name, t] : slots_[i]) nn::assign(t, sd.at(std::to_string(i) + "." + name));
}

}  // namespace qgrad::optim
