#include "nn/init.h"

#include <cmath>

#include "core/autograd.h"
#include "core/ops/elementwise.h"

namespace qgrad::nn::init {

Fans fans(const Tensor& w) {
  check(w.defined() && w.dim() >= 2, "init::fans", "needs a weight with at least 2 axes, got ",
        w.defined() ? shape_str(w.shape()) : std::string("an undefined tensor"));
  int64_t receptive = 1;
  for (int64_t a = 2; a < w.dim(); ++a) receptive *= w.size(a);
  return {w.size(1) * receptive, w.size(0) * receptive};
}

float gain(Nonlinearity nonlinearity, float negative_slope) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid: return 1.f;
    case Nonlinearity::Tanh: return 5.f / 3.f;
    case Nonlinearity::ReLU: return std::sqrt(2.f);
    case Nonlinearity::LeakyReLU: return std::sqrt(2.f / (1.f + negative_slope * negative_slope));
  }
  return 1.f;
}

void uniform_(Tensor& w, float lo, float hi, Generator& gen) {
  check(lo <= hi, "init::uniform_", "empty range [", lo, ", ", hi, ")");
  NoGradGuard no_grad;
  w.copy_(add(mul(rand(w.shape(), gen), hi - lo), lo));
}

void normal_(Tensor& w, float mean, float std, Generator& gen) {
  check(std >= 0.f, "init::normal_", "std must be >= 0, got ", std);
  NoGradGuard no_grad;
  w.copy_(add(mul(randn(w.shape(), gen), std), mean));
}

namespace {
float kaiming_std(const Tensor& w, const KaimingOptions& o) {
  Fans f = fans(w);
  int64_t fan = o.mode == FanMode::FanIn ? f.in : f.out;
  check(fan > 0, "init::kaiming", "weight ", shape_str(w.shape()), " has a zero fan");
  return gain(o.nonlinearity, o.a) / std::sqrt(static_cast<float>(fan));
}
float xavier_std(const Tensor& w, float g) {
  Fans f = fans(w);
  check(f.in + f.out > 0, "init::xavier", "weight ", shape_str(w.shape()), " has zero fans");
  return g * std::sqrt(2.f / static_cast<float>(f.in + f.out));
}
}  // namespace

// A uniform U(-b, b) has std b / sqrt(3), hence b = sqrt(3) * std in both uniform variants.
void kaiming_uniform_(Tensor& w, Generator& gen, const KaimingOptions& options) {
  float bound = std::sqrt(3.f) * kaiming_std(w, options);
  uniform_(w, -bound, bound, gen);
}

void kaiming_normal_(Tensor& w, Generator& gen, const KaimingOptions& options) {
  normal_(w, 0.f, kaiming_std(w, options), gen);
}

void xavier_uniform_(Tensor& w, Generator& gen, float g) {
  float bound = std::sqrt(3.f) * xavier_std(w, g);
  uniform_(w, -bound, bound, gen);
}

void xavier_normal_(Tensor& w, Generator& gen, float g) { normal_(w, 0.f, xavier_std(w, g), gen); }

void default_weight_(Tensor& w, Generator& gen) {
  kaiming_uniform_(w, gen, {.a = std::sqrt(5.f), .nonlinearity = Nonlinearity::LeakyReLU});
}

void default_bias_(Tensor& b, const Tensor& w, Generator& gen) {
  Fans f = fans(w);
  float bound = f.in > 0 ? 1.f / std::sqrt(static_cast<float>(f.in)) : 0.f;
  uniform_(b, -bound, bound, gen);
}

}  // namespace qgrad::nn::init
