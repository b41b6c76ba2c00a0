// Activation functions, elementwise, each with its derivative:
//   relu(x)       = max(x, 0)                      relu'(x)       = [x > 0]
//   leaky_relu(x) = x > 0 ? x : a x                leaky_relu'(x) = x > 0 ? 1 : a
//   sigmoid(x)    = 1 / (1 + e^-x)                 sigmoid'(x)    = s (1 - s)
//   tanh(x)                                        tanh'(x)       = 1 - tanh(x)^2
//   gelu(x)       = x Phi(x)  (exact, erf form)    gelu'(x)       = Phi(x) + x phi(x)
#pragma once
#include "core/tensor.h"

namespace qgrad {

Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor gelu(const Tensor& x);

}  // namespace qgrad
