#include "nn/activations.h"

#include "core/ops/activation.h"

namespace qgrad::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, options_.negative_slope); }
std::string LeakyReLU::options_str() const { return cat("negative_slope=", options_.negative_slope); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return qgrad::tanh(x); }
Tensor GELU::forward(const Tensor& x) { return gelu(x); }

}  // namespace qgrad::nn
