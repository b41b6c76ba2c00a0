// Sensitivity analysis (quant/search/sensitivity.h) on constructed models whose answer is known:
// a layer given an outlier input column (every output channel's scale is set by one huge weight,
// so its ordinary weights round to zero at low bits) must rank first, and the KL/MSE measures
// must be what their formulas say.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/autograd.h"
#include "core/ops/reduce.h"
#include "nn/nn.h"
#include "quant/search/sensitivity.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

// Linear 8 -> 16 -> 16 -> 4 with ReLUs ("0", "2", "4").
std::shared_ptr<nn::Sequential> mlp(Generator& gen) {
  return std::make_shared<nn::Sequential>(nn::Linear({.in = 8, .out = 16}, gen), nn::ReLU(),
                                          nn::Linear({.in = 16, .out = 16}, gen), nn::ReLU(),
                                          nn::Linear({.in = 16, .out = 4}, gen));
}

// Layer i's weight (or bias), sharing its storage, to edit in place.
Tensor param(const nn::Sequential& model, size_t i, bool bias = false) {
  const auto& lin = dynamic_cast<const nn::Linear&>(*model[i]);
  return bias ? lin.bias() : lin.weight();
}

// Labels the float model predicts, so its held-out accuracy is 100%.
Tensor predicted(nn::Module& model, const Tensor& x) {
  NoGradGuard no_grad;
  return argmax(model(x), 1);
}

}  // namespace

TEST_CASE("logit_error: KL of softmaxes and MSE of logits, by their formulas", "[quant][mixed]") {
  const Tensor f = from_vector<float>({1, 2, 3, 0, 0, 0}, {2, 3});
  const Tensor q = from_vector<float>({1, 2, 2, 1, 0, 0}, {2, 3});
  const LogitError e = logit_error(f, q);
  // Row 0: p = softmax(1,2,3), r = softmax(1,2,2); row 1: p = softmax(0,0,0), r = softmax(1,0,0).
  auto softmax = [](std::vector<double> z) {
    double s = 0;
    for (double v : z) s += std::exp(v);
    for (double& v : z) v = std::exp(v) / s;
    return z;
  };
  auto kl = [](const std::vector<double>& p, const std::vector<double>& r) {
    double k = 0;
    for (size_t i = 0; i < p.size(); ++i) k += p[i] * std::log(p[i] / r[i]);
    return k;
  };
  const double want = (kl(softmax({1, 2, 3}), softmax({1, 2, 2})) + kl(softmax({0, 0, 0}), softmax({1, 0, 0}))) / 2;
  CHECK(e.kl == Approx(want).epsilon(1e-12));
  CHECK(e.mse == Approx(2.0 / 6.0).epsilon(1e-12));
  CHECK(logit_error(f, f).kl == Approx(0).margin(1e-15));
  CHECK_THROWS_WITH(logit_error(f, from_vector<float>({1, 2, 3}, {1, 3})), Contains("logit_error"));
}

TEST_CASE("sensitivity: the layer with an outlier weight column ranks first at low bits", "[quant][mixed]") {
  Generator gen(170);
  auto model = mlp(gen);
  {  // layer "2": input column 0 fifty times the rest, its input feature scaled down to match,
     // so the float function barely changes but every channel's scale is set by the outlier
    Tensor w = param(*model, 2), w0 = param(*model, 0), b0 = param(*model, 0, true);
    for (int64_t o = 0; o < 16; ++o) w.at({o, 0}) = 25.f * (o % 2 ? 1.f : -1.f);
    for (int64_t i = 0; i < 8; ++i) w0.at({0, i}) *= 0.02f;
    b0.at({0}) *= 0.02f;
  }
  const Tensor calib = randn({64, 8}, gen), held = randn({64, 8}, gen);
  const SensitivityTable t = measure_sensitivity(*model, calib, held, predicted(*model, held), {.bits = {2, 4, 8}});

  INFO(format_sensitivity(t));
  REQUIRE(t.layers.size() == 3);
  CHECK(t.layers[1].name == "2");
  CHECK(t.layers[1].weights == 256);
  CHECK(t.layers[1].channels == 16);
  CHECK(t.entries.size() == 3 * 3 * 2);
  CHECK(t.float_accuracy == 1.0);
  // At 4 bits the ordinary layers are nearly lossless and the outlier layer has already lost its
  // ordinary weights (each channel's step is 25/7); at 2 bits everyone suffers, it still most.
  for (const char* other : {"0", "4"}) {
    CHECK(t.at("2", SensitivityKind::Weight, 4).kl > 10 * t.at(other, SensitivityKind::Weight, 4).kl);
    CHECK(t.at("2", SensitivityKind::Weight, 2).kl > t.at(other, SensitivityKind::Weight, 2).kl);
  }
  for (const auto& l : t.layers)
    for (SensitivityKind kind : {SensitivityKind::Weight, SensitivityKind::Activation}) {
      const double k2 = t.at(l.name, kind, 2).kl, k8 = t.at(l.name, kind, 8).kl;
      CHECK(k8 > 0);  // something was quantized
      CHECK(k8 < k2);
      CHECK(t.at(l.name, kind, 8).accuracy >= 0.9);
    }
  CHECK_THROWS_WITH(t.at("2", SensitivityKind::Weight, 3), Contains("no weight entry for layer '2' at 3 bits"));
  CHECK(format_sensitivity(t).find("activation") != std::string::npos);
}

TEST_CASE("sensitivity: an activation with outliers is the one its bits hurt", "[quant][mixed]") {
  Generator gen(171);
  auto model = mlp(gen);
  {  // layer "0": one output channel with a huge bias, so its ReLU output's range is set by it
    Tensor b0 = param(*model, 0, true), w2 = param(*model, 2);
    b0.at({3}) = 60.f;
    for (int64_t o = 0; o < 16; ++o) w2.at({o, 3}) *= 0.01f;  // and barely used after
  }
  const Tensor calib = randn({64, 8}, gen), held = randn({64, 8}, gen);
  const SensitivityTable t = measure_sensitivity(*model, calib, held, predicted(*model, held), {.bits = {3}});
  const double outlier = t.at("0", SensitivityKind::Activation, 3).kl;
  CHECK(outlier > 3 * t.at("2", SensitivityKind::Activation, 3).kl);
  CHECK(outlier > 3 * t.at("0", SensitivityKind::Weight, 3).kl);
}

TEST_CASE("sensitivity: a conv followed by BatchNorm is measured with BN folded, the rest float", "[quant][mixed]") {
  Generator gen(175);
  nn::Sequential model(nn::Conv2d({.in = 2, .out = 4, .kernel = 3, .padding = 1, .bias = false}, gen),
                       nn::BatchNorm2d({.features = 4}), nn::ReLU(), nn::Flatten(),
                       nn::Linear({.in = 4 * 6 * 6, .out = 3}, gen));
  {  // non-trivial running statistics
    NoGradGuard no_grad;
    model.train();
    for (int i = 0; i < 3; ++i) model(randn({8, 2, 6, 6}, gen));
    model.eval();
  }
  const Tensor calib = randn({32, 2, 6, 6}, gen), held = randn({32, 2, 6, 6}, gen);
  const SensitivityTable t = measure_sensitivity(model, calib, held, predicted(model, held), {.bits = {2, 8}});
  REQUIRE(t.layers.size() == 2);
  CHECK(t.float_accuracy == 1.0);  // the reference (BN folded, all FakeQuantize off) is the float model
  for (const auto& l : t.layers)
    for (SensitivityKind kind : {SensitivityKind::Weight, SensitivityKind::Activation}) {
      CHECK(t.at(l.name, kind, 8).kl < t.at(l.name, kind, 2).kl);
      CHECK(t.at(l.name, kind, 8).kl < 1e-3);
    }
}

TEST_CASE("sensitivity: bad input is refused by name", "[quant][mixed]") {
  Generator gen(172);
  auto model = mlp(gen);
  const Tensor x = randn({4, 8}, gen);
  const Tensor y = predicted(*model, x);
  CHECK_THROWS_WITH(measure_sensitivity(*model, x, x, y, {.bits = {9}}), Contains("bits"));
  CHECK_THROWS_WITH(measure_sensitivity(*model, x, x, y.slice(0, 0, 2)), Contains("do not match"));
  nn::Sequential no_layers{nn::ReLU()};
  CHECK_THROWS_WITH(measure_sensitivity(no_layers, x, x, y), Contains("no Conv2d or Linear"));
}
