// Cross-layer equalization (quant/repair/equalization.h): exact in float (the prepared model's
// float forward, fake quantization off, is the float model's before and after), a channel 100x
// larger than the rest ends with the same range in both layers of its pair, ranges become more
// even, the per-tensor quantized model gets closer to the float one, and conv -> depthwise ->
// pointwise -> GlobalAvgPool -> Linear with BN (the MobileNet pattern) is handled.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/reduce.h"
#include "nn/nn.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/repair/equalization.h"
#include "quant/repair/layer_inputs.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

Tensor run(nn::Module& m, const Tensor& x) {
  NoGradGuard no_grad;
  m.eval();
  return m(x);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.to_vector(), y = b.to_vector();
  double d = 0;
  for (size_t i = 0; i < x.size(); ++i) d = std::max(d, static_cast<double>(std::fabs(x[i] - y[i])));
  return d;
}

double max_abs(const Tensor& a) {
  double d = 0;
  for (float v : a.to_vector()) d = std::max(d, static_cast<double>(std::fabs(v)));
  return d;
}

// A small MLP with its function unchanged but badly scaled, as BN folding can leave a model:
// output channel 2 of the first layer (weights and bias) 100x larger, and the second layer's
// weights reading that channel 100x smaller (ReLU commutes with the positive scale).
std::shared_ptr<nn::Sequential> mlp_with_a_large_channel(Generator& gen) {
  auto model = std::make_shared<nn::Sequential>(nn::Linear({.in = 6, .out = 8}, gen), nn::ReLU(),
                                                nn::Linear({.in = 8, .out = 3}, gen));
  const auto* first = dynamic_cast<const nn::Linear*>((*model)[0].get());
  const auto* second = dynamic_cast<const nn::Linear*>((*model)[2].get());
  Tensor w1 = first->weight(), b1 = first->bias(), w2 = second->weight();
  w1.slice(0, 2, 3).copy_(mul(w1.slice(0, 2, 3), 100.f));
  b1.slice(0, 2, 3).copy_(mul(b1.slice(0, 2, 3), 100.f));
  w2.slice(1, 2, 3).copy_(mul(w2.slice(1, 2, 3), 0.01f));
  return model;
}

// A prepared model in float: no observation, no fake quantization.
std::shared_ptr<nn::Sequential> prepared_float(const nn::Sequential& model, const QConfig& c) {
  auto q = prepare(model, c);
  set_observe(*q, false);
  set_fake_quant(*q, false);
  return q;
}

QConfig per_tensor(int bits) {
  QConfig c;
  c.default_config.weight = {.bits = bits, .symmetric = true};
  return c;
}

}  // namespace

TEST_CASE("equalization: exact in float, and a 100x channel ends with equal ranges in both layers", "[repair]") {
  Generator gen(7);
  auto model = mlp_with_a_large_channel(gen);
  auto q = prepared_float(*model, per_tensor(8));
  const auto layers = qat_layers(*q);
  REQUIRE(layers.size() == 2);
  const double evenness_before = channel_range_evenness(layers[0].layer->effective_weight_bias().first);
  CHECK(evenness_before < 0.2);  // one channel spans the range, the others use ~1/100 of it

  const Equalization eq = equalize(*q);
  REQUIRE(eq.pairs.size() == 1);
  CHECK(eq.pairs[0].first == layers[0].name);
  CHECK(eq.pairs[0].second == layers[1].name);
  CHECK(eq.pairs[0].channels == 8);
  CHECK(eq.sweeps >= 1);

  const Tensor x = randn({32, 6}, gen);
  const Tensor y = run(*model, x);
  CHECK(max_abs_diff(run(*q, x), y) <= 1e-5 * max_abs(y) + 1e-6);
  // Per channel i: max|W1[i, :]| == max|W2[:, i]| (one pair: one sweep equalizes it exactly).
  const auto w1 = layers[0].layer->effective_weight_bias().first.to_vector();
  const auto w2 = layers[1].layer->effective_weight_bias().first.to_vector();
  for (int64_t i = 0; i < 8; ++i) {
    double r1 = 0, r2 = 0;
    for (int64_t j = 0; j < 6; ++j) r1 = std::max(r1, static_cast<double>(std::fabs(w1[i * 6 + j])));
    for (int64_t o = 0; o < 3; ++o) r2 = std::max(r2, static_cast<double>(std::fabs(w2[o * 8 + i])));
    CHECK(r1 == Approx(r2).epsilon(1e-4));
  }
  CHECK(channel_range_evenness(layers[0].layer->effective_weight_bias().first) > 3 * evenness_before);
}

TEST_CASE("equalization: the per-tensor 4-bit model gets closer to the float one", "[repair]") {
  Generator gen(11);
  auto model = mlp_with_a_large_channel(gen);
  const Tensor calib = randn({64, 6}, gen), x = randn({64, 6}, gen);
  const Tensor y = run(*model, x);
  const auto quantized_error = [&](bool equalized) {
    QConfig c = per_tensor(4);
    auto q = prepare(*model, c);
    if (equalized) equalize(*q);
    run(*q, calib);  // observers on: calibration
    set_observe(*q, false);
    set_fake_quant(*q, true);
    const Tensor d = sub(run(*q, x), y);
    return static_cast<double>(mean(mul(d, d)).item());
  };
  const double plain = quantized_error(false), equalized = quantized_error(true);
  CHECK(equalized < 0.2 * plain);
}

TEST_CASE("equalization: Conv+BN, depthwise, pointwise, GlobalAvgPool, Linear (MobileNet pattern)", "[repair]") {
  Generator gen(13);
  nn::Sequential model(nn::Conv2d({.in = 3, .out = 8, .kernel = 3, .padding = 1, .bias = false}, gen),
                       nn::BatchNorm2d({.features = 8}), nn::ReLU(),
                       nn::Conv2d({.in = 8, .out = 8, .kernel = 3, .padding = 1, .groups = 8, .bias = false}, gen),
                       nn::BatchNorm2d({.features = 8}), nn::ReLU(),
                       nn::Conv2d({.in = 8, .out = 16, .kernel = 1, .bias = false}, gen),
                       nn::BatchNorm2d({.features = 16}), nn::ReLU(), nn::MaxPool2d({.kernel = 2}),
                       nn::GlobalAvgPool(), nn::Linear({.in = 16, .out = 4}, gen));
  for (size_t i : {1, 4, 7}) {  // BN with running statistics and an affine part far from 1, 0
    const auto* bn = dynamic_cast<const nn::BatchNorm2d*>(model[i].get());
    const int64_t c = bn->options().features;
    Tensor mean = bn->running_mean(), var = bn->running_var(), g = bn->weight(), b = bn->bias();
    mean.copy_(randn({c}, gen));
    var.copy_(add(mul(rand({c}, gen), 3.f), 0.1f));
    g.copy_(add(mul(rand({c}, gen), 4.f), 0.2f));
    b.copy_(randn({c}, gen));
  }
  auto q = prepared_float(model, {});
  const Equalization eq = equalize(*q);
  REQUIRE(eq.pairs.size() == 3);  // conv-dw, dw-pw, pw-linear
  CHECK(eq.pairs[0].channels == 8);
  CHECK(eq.pairs[1].channels == 8);
  CHECK(eq.pairs[2].channels == 16);
  const Tensor x = randn({4, 3, 8, 8}, gen);
  const Tensor y = run(model, x);
  CHECK(max_abs_diff(run(*q, x), y) <= 1e-4 * max_abs(y) + 1e-5);
}

TEST_CASE("equalization: what breaks a pair, and equalizing after calibration is refused", "[repair]") {
  Generator gen(17);
  // A layer kept in float sits between conv 0 and conv 4: no pair across it; ReLU + MaxPool +
  // Flatten between conv 4 and the Linear is one.
  nn::Sequential model(nn::Conv2d({.in = 1, .out = 4, .kernel = 3, .padding = 1}, gen), nn::ReLU(),
                       nn::Conv2d({.in = 4, .out = 4, .kernel = 3, .padding = 1}, gen), nn::ReLU(),
                       nn::Conv2d({.in = 4, .out = 4, .kernel = 3, .padding = 1}, gen), nn::ReLU(),
                       nn::MaxPool2d({.kernel = 2}), nn::Flatten(), nn::Linear({.in = 64, .out = 3}, gen));
  QConfig c;
  c.rules = {{"2", {.quantize = false}}};
  auto q = prepared_float(model, c);
  const Equalization eq = equalize(*q);
  REQUIRE(eq.pairs.size() == 1);
  // prepared: 0 FakeQuantize, 1 conv, 2 ReLU, 3 FakeQuantize, 4 conv (float), 5 ReLU, 6 FakeQuantize, 7 conv
  CHECK(eq.pairs[0].first == "7");
  CHECK(eq.pairs[0].channels == 4);  // the last conv -> the Linear, 16 columns per channel
  const Tensor x = randn({2, 1, 8, 8}, gen);
  const Tensor y = run(model, x);
  CHECK(max_abs_diff(run(*q, x), y) <= 1e-4 * max_abs(y) + 1e-5);

  nn::Sequential small(nn::Linear({.in = 3, .out = 4}, gen), nn::ReLU(), nn::Linear({.in = 4, .out = 2}, gen));
  auto calibrated = prepare(small, {});
  run(*calibrated, randn({4, 3}, gen));
  CHECK_THROWS_WITH(equalize(*calibrated), Contains("before calibrating"));
}
