// AdaRound (quant/repair/adaround.h): on a layer whose inputs are strongly correlated (so the
// weights' rounding errors add up in the output unless chosen together), the learned rounding
// reconstructs the float output better than round-to-nearest, every code stays on the
// calibrated grid within one step of the float weight, and fake quantization gives the codes
// back unchanged. Then the three repairs together on a small conv net: the integer model
// converted from the repaired prepared model computes exactly what the fake-quant model does.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/matmul.h"
#include "nn/nn.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/intmodel/convert.h"
#include "quant/repair/adaround.h"
#include "quant/repair/bias_correction.h"
#include "quant/repair/equalization.h"
#include "quant/repair/layer_inputs.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

void calibrate_and_freeze(nn::Module& q, const std::vector<Tensor>& batches) {
  NoGradGuard no_grad;
  q.eval();
  for (const Tensor& x : batches) q(x);
  set_observe(q, false);
  set_fake_quant(q, true);
}

// Inputs x = z A with a shared low-rank part: neighbouring features move together.
Tensor correlated_inputs(int64_t n, int64_t in, Generator& gen) {
  const Tensor mix = add(mul(randn({4, in}, gen), 1.f), 0.5f);
  return add(matmul(randn({n, 4}, gen), mix), mul(randn({n, in}, gen), 0.1f));
}

}  // namespace

TEST_CASE("adaround: less output error than round-to-nearest, codes on the grid within one step",
          "[repair]") {
  Generator gen(21);
  nn::Sequential model(nn::Linear({.in = 32, .out = 8}, gen));
  std::vector<Tensor> batches{correlated_inputs(128, 32, gen), correlated_inputs(128, 32, gen)};
  QConfig c;
  c.default_config.weight.bits = 3;
  auto q = prepare(model, c);
  calibrate_and_freeze(*q, batches);
  QatLayer& layer = *qat_layers(*q)[0].layer;
  const QParams qp = layer.weight_qparams();
  const std::vector<float> w_float = layer.effective_weight_bias().first.to_vector();

  const auto results = adaround(*q, batches, {.iterations = 300, .batch = 64});
  REQUIRE(results.size() == 1);
  const AdaRoundResult& r = results[0];
  CHECK(r.layer == qat_layers(*q)[0].name);
  CHECK(r.weights == 256);
  CHECK(r.changed > 0);
  CHECK(r.rtn_error > 0);
  CHECK(r.error < 0.8 * r.rtn_error);
  // The new effective weight is s q with q an integer in [qmin, qmax], floor or ceil of w / s.
  const Tensor w_new = layer.effective_weight_bias().first;
  const std::vector<float> wv = w_new.to_vector();
  for (size_t e = 0; e < wv.size(); ++e) {
    const float s = qp.scale[e / 32];
    const float code = wv[e] / s;
    REQUIRE(std::fabs(code - std::round(code)) < 1e-4f);
    REQUIRE(std::round(code) >= qp.qmin());
    REQUIRE(std::round(code) <= qp.qmax());
    REQUIRE(std::fabs(std::round(code) - w_float[e] / s) < 1.f + 1e-4f);
  }
  // The frozen grid is kept, and fake quantization reproduces the codes exactly.
  CHECK(layer.weight_qparams().scale == qp.scale);
  CHECK(layer.quantized_weight(w_new).to_vector() == wv);
}

TEST_CASE("adaround: refused for non-linear weights and for an uncalibrated model", "[repair]") {
  Generator gen(2);
  nn::Sequential model(nn::Linear({.in = 8, .out = 4}, gen));
  const Tensor x = randn({16, 8}, gen);
  CHECK_THROWS_WITH(adaround(*prepare(model, {}), {x}), Contains("observed nothing"));
  QConfig kmeans;
  kmeans.default_config.weight.bits = 3;
  kmeans.default_config.weight_method = WeightMethod::KMeans;
  auto q = prepare(model, kmeans);
  calibrate_and_freeze(*q, {x});
  CHECK_THROWS_WITH(adaround(*q, {x}), Contains("kmeans weights"));
  CHECK_NOTHROW(correct_bias(*q, {x}));  // bias correction takes any weight method
}

TEST_CASE("repairs: equalized, rounded and bias-corrected, the integer model equals the fake-quant model",
          "[repair]") {
  Generator gen(23);
  nn::Sequential model(nn::Conv2d({.in = 2, .out = 6, .kernel = 3, .padding = 1, .bias = false}, gen),
                       nn::BatchNorm2d({.features = 6}), nn::ReLU(), nn::MaxPool2d({.kernel = 2}),
                       nn::Conv2d({.in = 6, .out = 6, .kernel = 3, .padding = 1, .groups = 3}, gen), nn::ReLU(),
                       nn::Flatten(), nn::Linear({.in = 96, .out = 5}, gen));
  {
    const auto* bn = dynamic_cast<const nn::BatchNorm2d*>(model[1].get());
    Tensor mean = bn->running_mean(), var = bn->running_var();
    mean.copy_(mul(randn({6}, gen), 0.2f));
    var.copy_(add(rand({6}, gen), 0.5f));
  }
  QConfig c;
  c.default_config.weight.bits = 4;
  c.default_config.activation.bits = 6;
  auto q = prepare(model, c);
  REQUIRE(equalize(*q).pairs.size() == 2);
  const std::vector<Tensor> batches{randn({16, 2, 8, 8}, gen), randn({16, 2, 8, 8}, gen)};
  calibrate_and_freeze(*q, batches);
  const FloatWeights float_w = float_weights(*q);
  const auto rounded = adaround(*q, batches, {.iterations = 50, .batch = 8});
  REQUIRE(rounded.size() == 3);
  // After AdaRound the weights are on the grid: measured against themselves there is no error
  // left, against the float weights they stood for there is.
  const FloatWeights rounded_w = float_weights(*q);
  for (const auto& [name, w] : float_w) CHECK(rounded_w.at(name).to_vector() != w.to_vector());
  const auto corrected = correct_bias(*q, batches, float_w);
  REQUIRE(corrected.size() == 3);
  for (const BiasCorrection& b : corrected) CHECK(b.max_abs() > 0);

  auto im = convert(*q);
  const Tensor x = randn({8, 2, 8, 8}, gen);
  NoGradGuard no_grad;
  const auto fake = (*q)(x).to_vector(), integer = (*im)(x).to_vector();
  REQUIRE(fake.size() == integer.size());
  for (size_t i = 0; i < fake.size(); ++i) REQUIRE(fake[i] == integer[i]);
}
