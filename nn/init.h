// Weight initialization, in place and deterministic given the Generator's seed.
//
//   fan_in  = w.shape[1] * receptive field,  fan_out = w.shape[0] * receptive field
//             (receptive field = prod(w.shape[2:]), 1 for a Linear weight [out, in])
//   gain:     linear/sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu(a) sqrt(2 / (1 + a^2))
//   kaiming_uniform: U(-b, b),  b = gain * sqrt(3 / fan)        (He et al. 2015)
//   kaiming_normal:  N(0, s^2), s = gain / sqrt(fan)
//   xavier_uniform:  U(-b, b),  b = gain * sqrt(6 / (fan_in + fan_out))   (Glorot & Bengio 2010)
//   xavier_normal:   N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
// Linear and Conv2d default to PyTorch's reset_parameters(): kaiming_uniform with a = sqrt(5)
// (which works out to b = 1 / sqrt(fan_in)) and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so a
// freshly built qgrad model has the same weight statistics as its PyTorch twin.
#pragma once
#include "core/random.h"
#include "core/tensor.h"

namespace qgrad::nn::init {

enum class Nonlinearity { Linear, Sigmoid, Tanh, ReLU, LeakyReLU };
enum class FanMode { FanIn, FanOut };

struct Fans {
  int64_t in = 0, out = 0;
};
Fans fans(const Tensor& w);  // needs at least 2 axes
float gain(Nonlinearity nonlinearity, float negative_slope = 0.01f);

struct KaimingOptions {
  float a = 0.f;  // negative slope, used when nonlinearity is LeakyReLU
  FanMode mode = FanMode::FanIn;
  Nonlinearity nonlinearity = Nonlinearity::ReLU;
};

void uniform_(Tensor& w, float lo, float hi, Generator& gen);
void normal_(Tensor& w, float mean, float std, Generator& gen);
void kaiming_uniform_(Tensor& w, Generator& gen, const KaimingOptions& options = {});
void kaiming_normal_(Tensor& w, Generator& gen, const KaimingOptions& options = {});
void xavier_uniform_(Tensor& w, Generator& gen, float gain = 1.f);
void xavier_normal_(Tensor& w, Generator& gen, float gain = 1.f);

// PyTorch's default for Linear/Conv2d weights and biases (see the header comment).
void default_weight_(Tensor& w, Generator& gen);
void default_bias_(Tensor& b, const Tensor& w, Generator& gen);

}  // namespace qgrad::nn::init
