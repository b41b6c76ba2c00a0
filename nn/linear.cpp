#include "nn/linear.h"

#include "core/ops/matmul.h"
#include "nn/init.h"

namespace qgrad::nn {

Linear::Linear(const LinearOptions& o, Generator& gen) : options_(o) {
  check(o.in > 0 && o.out > 0, "Linear", "in and out must be positive, got in=", o.in,
        ", out=", o.out);
  weight_ = empty({o.out, o.in});
  init::default_weight_(weight_, gen);
  register_parameter("weight", weight_);
  if (o.bias) {
    bias_ = empty({o.out});
    init::default_bias_(bias_, weight_, gen);
    register_parameter("bias", bias_);
  }
}

Tensor Linear::forward(const Tensor& x) {
  check(x.dim() == 2 && x.size(1) == options_.in, "Linear", "expects input [N, ", options_.in,
        "], got ", shape_str(x.shape()));
  return qgrad::linear(x, weight_, bias_);
}

std::string Linear::options_str() const {
  return cat("in=", options_.in, ", out=", options_.out, ", bias=", options_.bias ? "true" : "false");
}

}  // namespace qgrad::nn
