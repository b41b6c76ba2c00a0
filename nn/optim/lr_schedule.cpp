#include "nn/optim/lr_schedule.h"

#include <cmath>
#include <numbers>

namespace qgrad::optim {

namespace {
void require_t(int64_t t, const char* op) { check(t >= 0, op, "step must be >= 0, got ", t); }
}  // namespace

void LRSchedule::set_t(int64_t t) {
  require_t(t, "LRSchedule::set_t");
  t_ = t;
}

StepLR::StepLR(const StepLROptions& o) : options_(o) {
  check(o.step_size > 0 && o.base_lr >= 0.f && o.gamma > 0.f, "StepLR",
        "needs step_size > 0, base_lr >= 0, gamma > 0 (step_size=", o.step_size,
        ", base_lr=", o.base_lr, ", gamma=", o.gamma, ")");
}

float StepLR::lr_at(int64_t t) const {
  require_t(t, "StepLR::lr_at");
  return static_cast<float>(options_.base_lr *
                            std::pow(double(options_.gamma), double(t / options_.step_size)));
}

CosineAnnealing::CosineAnnealing(const CosineAnnealingOptions& o) : options_(o) {
  check(o.t_max > 0 && o.base_lr >= 0.f && o.eta_min >= 0.f, "CosineAnnealing",
        "needs t_max > 0 and non-negative rates (t_max=", o.t_max, ", base_lr=", o.base_lr,
        ", eta_min=", o.eta_min, ")");
}

float CosineAnnealing::lr_at(int64_t t) const {
  require_t(t, "CosineAnnealing::lr_at");
  const auto& o = options_;
  if (t >= o.t_max) return o.eta_min;
  const double c = std::cos(std::numbers::pi * double(t) / double(o.t_max));
  return static_cast<float>(o.eta_min + (double(o.base_lr) - o.eta_min) * (1.0 + c) / 2.0);
}

LinearWarmup::LinearWarmup(const LinearWarmupOptions& o, std::shared_ptr<const LRSchedule> after)
    : options_(o), after_(std::move(after)) {
  check(after_ != nullptr, "LinearWarmup", "needs a schedule to hand over to");
  check(o.warmup >= 0 && o.start_factor >= 0.f && o.start_factor <= 1.f, "LinearWarmup",
        "needs warmup >= 0 and start_factor in [0, 1] (warmup=", o.warmup,
        ", start_factor=", o.start_factor, ")");
}

float LinearWarmup::lr_at(int64_t t) const {
  require_t(t, "LinearWarmup::lr_at");
  const auto& o = options_;
  if (t >= o.warmup) return after_->lr_at(t - o.warmup);
  const double f = o.start_factor + (1.0 - o.start_factor) * double(t) / double(o.warmup);
  return static_cast<float>(after_->lr_at(0) * f);
}

}  // namespace qgrad::optim
