#include "nn/batch_norm.h"

#include <algorithm>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/reduce.h"

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
  // Per-channel vectors [C] broadcast as [1, C, 1, ...].
  Shape channel_shape(x.dim(), 1);
  channel_shape[1] = C;
  std::vector<int64_t> axes{0};
  for (int64_t a = 2; a < x.dim(); ++a) axes.push_back(a);

  Tensor mu, var;
  if (is_training()) {
    const int64_t n = x.numel() / C;
    check(n > 1, type_name().c_str(), "needs more than 1 value per channel in training, got input ",
          shape_str(x.shape()));
    mu = mean(x, axes, true);
    Tensor centered = sub(x, mu);
    var = mean(mul(centered, centered), axes, true);
    NoGradGuard no_grad;
    const float m = options_.momentum;
    const float unbias = static_cast<float>(n) / static_cast<float>(n - 1);
    assign(running_mean_, add(mul(running_mean_, 1.f - m), mul(mu.detach().reshape({C}), m)));
    assign(running_var_,
           add(mul(running_var_, 1.f - m), mul(var.detach().reshape({C}), m * unbias)));
  } else {
    mu = running_mean_.reshape(channel_shape);
    var = running_var_.reshape(channel_shape);
  }
  Tensor y = div(sub(x, mu), sqrt(add(var, options_.eps)));
  if (!options_.affine) return y;
  return add(mul(y, weight_.reshape(channel_shape)), bias_.reshape(channel_shape));
}

std::string BatchNorm::options_str() const {
  return cat("features=", options_.features, ", eps=", options_.eps, ", momentum=",
             options_.momentum, ", affine=", options_.affine ? "true" : "false");
}

}  // namespace qgrad::nn
