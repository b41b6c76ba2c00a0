#include "nn/batch_norm.h"

#include <algorithm>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/normalization.h"

namespace qgrad::nn {

BatchNorm::BatchNorm(const BatchNormOptions& o, std::vector<int64_t> ranks)
    : options_(o), ranks_(std::move(ranks)) {
  check(o.features > 0, "BatchNorm", "features must be positive, got ", o.features);
  check(o.eps > 0.f, "BatchNorm", "eps must be positive, got ", o.eps);
  check(o.momentum >= 0.f && o.momentum <= 1.f, "BatchNorm", "momentum must be in [0, 1], got ",
        o.momentum);
  if (o.affine) {
    weight_ = register_parameter("weight", ones({o.features}));
    bias_ = register_parameter("bias", zeros({o.features}));
  }
  running_mean_ = register_buffer("running_mean", zeros({o.features}));
  running_var_ = register_buffer("running_var", ones({o.features}));
}

Tensor BatchNorm::forward(const Tensor& x) {
  const int64_t C = options_.features;
  check(std::find(ranks_.begin(), ranks_.end(), x.dim()) != ranks_.end() && x.size(1) == C,
        type_name().c_str(), "expects input with ", C, " channels on axis 1 and rank ",
        ranks_.front(), ranks_.size() > 1 ? cat(" or ", ranks_.back()) : std::string(), ", got ",
        shape_str(x.shape()));
  if (!is_training())
    return batch_norm_eval(x, running_mean_, running_var_, weight_, bias_, options_.eps);
  check(x.numel() / C > 1, type_name().c_str(),
        "needs more than 1 value per channel in training, got input ", shape_str(x.shape()));
  BatchNormOutput out = batch_norm_training(x, weight_, bias_, options_.eps);
  NoGradGuard no_grad;
  const int64_t n = x.numel() / C;
  const float m = options_.momentum;
  const float unbias = static_cast<float>(n) / static_cast<float>(n - 1);
  assign(running_mean_, add(mul(running_mean_, 1.f - m), mul(out.mean, m)));
  assign(running_var_, add(mul(running_var_, 1.f - m), mul(out.var, m * unbias)));
  return out.y;
}

std::string BatchNorm::options_str() const {
  return cat("features=", options_.features, ", eps=", options_.eps, ", momentum=",
             options_.momentum, ", affine=", options_.affine ? "true" : "false");
}

}  // namespace qgrad::nn
