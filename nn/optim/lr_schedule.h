// Learning-rate schedules: pure functions of the step (or epoch) counter t = 0, 1, 2, ...
//   StepLR:          lr(t) = base_lr * gamma^floor(t / step_size)
//   CosineAnnealing: lr(t) = eta_min + (base_lr - eta_min) (1 + cos(pi t / t_max)) / 2,
//                    held at eta_min for t >= t_max
//   LinearWarmup:    lr(t) = after(0) * (start_factor + (1 - start_factor) t / warmup)  t < warmup
//                    lr(t) = after(t - warmup)                                         otherwise
//                    e.g. warmup then cosine: LinearWarmup({.warmup = 5}, CosineAnnealing(...))
// Each schedule also counts for you: apply(opt) sets opt's lr to lr_at(t()), step(opt) advances
// t by one and applies. The loop is  sched.apply(opt); for each epoch { train; sched.step(opt); }
// and set_t() restores the counter when training resumes from a checkpoint.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

#include "nn/optim/optimizer.h"

namespace qgrad::optim {

class LRSchedule {
 public:
  virtual ~LRSchedule() = default;
  virtual float lr_at(int64_t t) const = 0;

  int64_t t() const { return t_; }
  void set_t(int64_t t);
  void apply(Optimizer& opt) const { opt.set_lr(lr_at(t_)); }
  void step(Optimizer& opt) {
    ++t_;
    apply(opt);
  }

 private:
  int64_t t_ = 0;
};

struct StepLROptions {
  float base_lr = 0.1f;
  int64_t step_size = 30;
  float gamma = 0.1f;
};

class StepLR : public LRSchedule {
 public:
  explicit StepLR(const StepLROptions& options);
  float lr_at(int64_t t) const override;

 private:
  StepLROptions options_;
};

struct CosineAnnealingOptions {
  float base_lr = 0.1f;
  int64_t t_max = 100;
  float eta_min = 0.f;
};

class CosineAnnealing : public LRSchedule {
 public:
  explicit CosineAnnealing(const CosineAnnealingOptions& options);
  float lr_at(int64_t t) const override;

 private:
  CosineAnnealingOptions options_;
};

struct LinearWarmupOptions {
  int64_t warmup = 5;
  float start_factor = 0.1f;  // lr(0) = start_factor * after(0)
};

class LinearWarmup : public LRSchedule {
 public:
  template <class S>
    requires std::is_base_of_v<LRSchedule, S>
  LinearWarmup(const LinearWarmupOptions& options, S after)
      : LinearWarmup(options, std::shared_ptr<const LRSchedule>(std::make_shared<S>(after))) {}
  LinearWarmup(const LinearWarmupOptions& options, std::shared_ptr<const LRSchedule> after);
  float lr_at(int64_t t) const override;

 private:
  LinearWarmupOptions options_;
  std::shared_ptr<const LRSchedule> after_;
};

}  // namespace qgrad::optim
