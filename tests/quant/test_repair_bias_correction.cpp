// Bias correction (quant/repair/bias_correction.h) on constructed layers whose weight rounding
// error and input mean are known, so the correction -E E[x] is known in closed form; and on a
// Conv+BN layer with padding, where the quantized layer's mean output must come back to the
// float layer's per channel.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/matmul.h"
#include "core/ops/reduce.h"
#include "nn/nn.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/repair/bias_correction.h"
#include "quant/repair/layer_inputs.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

// Every layer at `bits` per-channel symmetric weights, 8-bit activations.
QConfig weights_at(int bits) {
  QConfig c;
  c.default_config.weight.bits = bits;
  return c;
}

std::shared_ptr<nn::Sequential> calibrated(const nn::Sequential& model, const std::vector<Tensor>& batches,
                                           const QConfig& c) {
  auto q = prepare(model, c);
  {
    NoGradGuard no_grad;
    for (const Tensor& x : batches) (*q)(x);
  }
  set_observe(*q, false);
  set_fake_quant(*q, true);
  return q;
}

QatLayer& only_layer(nn::Module& prepared) {
  auto layers = qat_layers(prepared);
  REQUIRE(layers.size() == 1);
  return *layers[0].layer;
}

// Per output channel (axis 1), the mean over every other axis, in double.
std::vector<double> channel_means(const Tensor& y) {
  const int64_t c = y.size(1), inner = y.numel() / (y.size(0) * c);
  const auto v = y.to_vector();
  std::vector<double> m(static_cast<size_t>(c), 0.0);
  for (int64_t i = 0; i < y.numel(); ++i) m[(i / inner) % c] += v[i];
  for (double& x : m) x /= static_cast<double>(y.numel() / c);
  return m;
}

}  // namespace

TEST_CASE("bias correction: a linear layer's known shift -E E[x] is added to its bias", "[repair]") {
  // 4-bit weights, per channel: row o is a_o * (7, 2.3, -1.3, 3.3), so the scale is a_o exactly
  // (max |w| / 7) and round-to-nearest makes the error E[o] = a_o * (0, -0.3, 0.3, -0.3).
  const std::vector<float> a{0.5f, 0.25f, 1.f};
  const std::vector<float> pattern{7.f, 2.3f, -1.3f, 3.3f};
  std::vector<float> w;
  for (float ao : a)
    for (float p : pattern) w.push_back(ao * p);
  nn::Sequential model(nn::Linear({.in = 4, .out = 3}));
  {
    const auto* lin = dynamic_cast<const nn::Linear*>(model[0].get());
    Tensor weight = lin->weight(), bias = lin->bias();
    weight.copy_(from_vector<float>(w, {3, 4}));
    bias.copy_(from_vector<float>({0.1f, -0.2f, 0.3f}, {3}));
  }
  // Integer inputs in [0, 255], so the 8-bit input grid (scale 1, zero point 0) holds them
  // exactly: column means m = (63.75, 127.5, 10, 30).
  const Tensor x = from_vector<float>({0, 255, 10, 30,  255, 0, 10, 30,  0, 255, 10, 30,  0, 0, 10, 30}, {4, 4});
  const std::vector<double> m{63.75, 127.5, 10, 30};
  auto q = calibrated(model, {x}, weights_at(4));
  QatLayer& ql = only_layer(*q);
  const Tensor b_before = ql.effective_weight_bias().second.clone();
  const auto corrections = correct_bias(*q, {x});
  REQUIRE(corrections.size() == 1);
  const auto b_after = ql.effective_weight_bias().second.to_vector();
  for (size_t o = 0; o < 3; ++o) {
    const std::vector<double> err{0, -0.3 * a[o], 0.3 * a[o], -0.3 * a[o]};
    double shift = 0;  // E[o] . m
    for (size_t j = 0; j < 4; ++j) shift += err[j] * m[j];
    CHECK(std::fabs(shift) > 1.0);  // a shift worth correcting
    CHECK(corrections[0].correction[o] == Approx(-shift).epsilon(1e-5));
    CHECK(b_after[o] == Approx(b_before.to_vector()[o] - shift).epsilon(1e-5));
  }
  CHECK(corrections[0].max_abs() == Approx(0.3 * 1.0 * (127.5 - 10 + 30)).epsilon(1e-5));
  // And so the quantized layer's mean output is the float layer's again.
  NoGradGuard no_grad;
  const Tensor wq = ql.quantized_weight(ql.effective_weight_bias().first);
  const auto yq = channel_means(linear(x, wq, ql.effective_weight_bias().second));
  const auto yf = channel_means(linear(x, from_vector<float>(w, {3, 4}), b_before));
  for (size_t o = 0; o < 3; ++o) CHECK(yq[o] == Approx(yf[o]).margin(1e-3));
}

TEST_CASE("bias correction: a conv without a bias gets one, sum(E[o]) times a constant input", "[repair]") {
  Generator gen(3);
  nn::Sequential model(nn::Conv2d({.in = 2, .out = 3, .kernel = 3, .bias = false}, gen));
  // Channel 0 is 255 everywhere, channel 1 is 51: on the 8-bit grid (scale 1) exactly, and every
  // window sees the same patch, so the shift of channel o is 255 sum(E[o, 0]) + 51 sum(E[o, 1]).
  std::vector<float> pixels;
  for (int64_t n = 0; n < 2; ++n)
    for (float v : {255.f, 51.f}) pixels.insert(pixels.end(), 25, v);
  const Tensor x = from_vector<float>(pixels, {2, 2, 5, 5});
  auto q = calibrated(model, {x}, weights_at(3));
  QatLayer& ql = only_layer(*q);
  CHECK_FALSE(ql.effective_weight_bias().second.defined());
  const Tensor w = ql.effective_weight_bias().first;
  const auto e = sub(ql.quantized_weight(w), w).to_vector();  // [3, 2, 3, 3]
  correct_bias(*q, {x});
  const Tensor b = ql.effective_weight_bias().second;
  REQUIRE(b.defined());
  for (int64_t o = 0; o < 3; ++o) {
    double expected = 0;
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t k = 0; k < 9; ++k) expected -= (c == 0 ? 255.0 : 51.0) * e[(o * 2 + c) * 9 + k];
    CHECK(b.to_vector()[o] == Approx(expected).epsilon(1e-4).margin(1e-6));
  }
  CHECK(std::fabs(b.to_vector()[0]) + std::fabs(b.to_vector()[1]) + std::fabs(b.to_vector()[2]) > 0.1);
}

TEST_CASE("bias correction: Conv+BN with padding, the quantized mean output returns to the float one",
          "[repair]") {
  Generator gen(5);
  nn::Sequential model(nn::Conv2d({.in = 3, .out = 4, .kernel = 3, .padding = 1, .bias = false}, gen),
                       nn::BatchNorm2d({.features = 4}), nn::ReLU());
  {
    const auto* bn = dynamic_cast<const nn::BatchNorm2d*>(model[1].get());
    Tensor mean = bn->running_mean(), var = bn->running_var();
    mean.copy_(randn({4}, gen));
    var.copy_(add(rand({4}, gen), 0.5f));
  }
  // Inputs with a clear positive mean, so a weight error shows in the mean output.
  std::vector<Tensor> batches{add(rand({8, 3, 6, 6}, gen), 0.5f), add(rand({8, 3, 6, 6}, gen), 0.5f)};
  auto q = calibrated(model, batches, weights_at(3));
  QatLayer& ql = only_layer(*q);
  REQUIRE(dynamic_cast<QatConvBn2d*>(&ql));
  const auto [w, b_before] = ql.effective_weight_bias();
  const Tensor w_float = w.detach().clone(), b_float = b_before.detach().clone();
  const auto inputs = layer_inputs(*q, ql, batches, "0");
  const auto mean_shift = [&](const Tensor& b) {  // per channel: mean(W_q x + b) - mean(W x + b_float)
    NoGradGuard no_grad;
    std::vector<double> d(4, 0.0);
    for (const Tensor& x : inputs) {
      const auto yq = channel_means(ql.apply(x, ql.quantized_weight(w_float), b));
      const auto yf = channel_means(ql.apply(x, w_float, b_float));
      for (size_t o = 0; o < 4; ++o) d[o] += (yq[o] - yf[o]) / static_cast<double>(inputs.size());
    }
    return d;
  };
  const auto before = mean_shift(b_float);
  double largest = 0;
  for (double v : before) largest = std::max(largest, std::fabs(v));
  CHECK(largest > 1e-3);  // 3-bit weights do shift the mean
  correct_bias(*q, batches);
  for (double v : mean_shift(ql.effective_weight_bias().second.detach())) CHECK(std::fabs(v) < 1e-5);
}

TEST_CASE("bias correction: refused before calibration, on observing models and without data", "[repair]") {
  Generator gen(1);
  nn::Sequential model(nn::Linear({.in = 4, .out = 2}, gen));
  const Tensor x = randn({4, 4}, gen);
  auto fresh = prepare(model, {});
  CHECK_THROWS_WITH(correct_bias(*fresh, {x}), Contains("observed nothing"));
  {
    NoGradGuard no_grad;
    (*fresh)(x);
  }
  CHECK_THROWS_WITH(correct_bias(*fresh, {x}), Contains("must be frozen"));
  auto q = calibrated(model, {x}, {});
  CHECK_THROWS_WITH(correct_bias(*q, {}), Contains("at least one calibration batch"));
}
