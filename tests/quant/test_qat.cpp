// QConfig patterns and defaults, calibration sampling, the FakeQuantize module's switches,
// prepare / prepare_qat (module sequence, forward against a hand-built fake-quant forward,
// the float model untouched), the straight-through gradient of QatLinear and Conv-BN folding.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/ops/activation.h"
#include "core/ops/conv.h"
#include "core/ops/elementwise.h"
#include "core/ops/matmul.h"
#include "core/ops/reduce.h"
#include "nn/nn.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/fakequant/qconfig.h"
#include "quant/quant.h"
#include "support/grad_check.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

std::shared_ptr<nn::Sequential> small_lenet(Generator& gen) {
  return std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 1, .out = 3, .kernel = 3, .padding = 1}, gen), nn::ReLU(),
      nn::MaxPool2d({.kernel = 2}), nn::Flatten(), nn::Linear({.in = 48, .out = 10}, gen),
      nn::ReLU(), nn::Linear({.in = 10, .out = 4}, gen));
}

std::vector<std::string> type_names(const nn::Sequential& s) {
  std::vector<std::string> out;
  for (const auto& [name, m] : s.children()) out.push_back(m->type_name());
  return out;
}

// Per-row symmetric QParams of a 2-D weight, from its row min/max computed here.
QParams rowwise_sym(const Tensor& w, int bits) {
  std::vector<float> lo, hi;
  const auto v = w.to_vector();
  const int64_t rows = w.size(0), cols = w.numel() / rows;
  for (int64_t r = 0; r < rows; ++r) {
    auto b = v.begin() + r * cols;
    lo.push_back(*std::min_element(b, b + cols));
    hi.push_back(*std::max_element(b, b + cols));
  }
  return qparams_from_range(lo, hi, {.bits = bits, .symmetric = true, .axis = 0});
}

QParams tensor_asym(const Tensor& x, int bits) {
  const auto v = x.to_vector();
  return qparams_from_range(*std::min_element(v.begin(), v.end()),
                            *std::max_element(v.begin(), v.end()), {.bits = bits});
}

void require_close(const Tensor& a, const Tensor& b, float tol) {
  REQUIRE(a.shape() == b.shape());
  const auto x = a.to_vector(), y = b.to_vector();
  for (size_t i = 0; i < x.size(); ++i) REQUIRE(std::fabs(x[i] - y[i]) <= tol);
}

// The bias as the integer model stores it, back in float: round(b / (s_in s_w[o])) s_in s_w[o].
Tensor grid_bias(const Tensor& b, const QParams& in, const QParams& w) {
  std::vector<float> v = b.to_vector();
  for (size_t o = 0; o < v.size(); ++o) {
    const double step = static_cast<double>(in.scale[0]) * w.scale[o];
    v[o] = static_cast<float>(std::round(v[o] / step) * step);
  }
  return from_vector<float>(v, b.shape());
}

}  // namespace

TEST_CASE("glob_match and QConfig rules: first match wins, else the default", "[quant]") {
  CHECK(glob_match("*", "features.3"));
  CHECK(glob_match("3", "3"));
  CHECK_FALSE(glob_match("3", "13"));
  CHECK(glob_match("features.*", "features.10"));
  CHECK_FALSE(glob_match("features.*", "classifier.1"));
  CHECK(glob_match("?.weight", "7.weight"));
  CHECK(glob_match("a*b*c", "aXXbYYc"));
  CHECK_FALSE(glob_match("a*b*c", "aXXbYY"));
  CHECK(glob_match("features.*", "features.1.0"));  // '*' crosses '.': a rule names a subtree
  CHECK(glob_match("[0-3]", "2"));
  CHECK_FALSE(glob_match("[0-3]", "5"));
  QConfig c;
  c.default_config.weight.bits = 6;
  LayerQConfig four;
  four.weight.bits = 4;
  LayerQConfig skip;
  skip.quantize = false;
  c.rules = {{"1*", four}, {"1", skip}};
  CHECK(c.for_module("12").weight.bits == 4);
  CHECK(c.for_module("1").weight.bits == 4);  // "1*" comes first
  CHECK(c.for_module("2").weight.bits == 6);
}

TEST_CASE("default_qconfig keeps the first and last layer at 8 bits below 8 bits", "[quant]") {
  Generator gen(1);
  auto model = small_lenet(gen);  // quantized layers "0", "4", "6"
  QConfig c4 = default_qconfig(*model, {.weight_bits = 4, .activation_bits = 4});
  CHECK(c4.for_module("0").weight.bits == 8);
  CHECK(c4.for_module("0").activation.bits == 8);
  CHECK(c4.for_module("4").weight.bits == 4);
  CHECK(c4.for_module("4").activation.bits == 4);
  CHECK(c4.for_module("6").weight.bits == 8);
  CHECK(c4.for_module("4").weight.symmetric);
  CHECK(c4.for_module("4").weight.axis == std::optional<int64_t>(0));
  CHECK_FALSE(c4.for_module("4").activation.symmetric);
  QConfig all4 = default_qconfig(*model, {.weight_bits = 4, .keep_ends_8bit = false});
  CHECK(all4.for_module("0").weight.bits == 4);
  QConfig c8 = default_qconfig(*model, {.per_channel = false});
  CHECK(c8.rules.empty());
  CHECK_FALSE(c8.for_module("4").weight.axis.has_value());
  CHECK_THROWS_WITH(default_qconfig(*model, {.weight_bits = 1}), Contains("bits"));
}

TEST_CASE("calibration_indices: all, uniform stride, seeded random without replacement", "[quant]") {
  using K = Sampling::Kind;
  CHECK(calibration_indices({.kind = K::All}, 4) == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(calibration_indices({.kind = K::Uniform, .stride = 3}, 10) ==
        std::vector<int64_t>{0, 3, 6, 9});
  CHECK(calibration_indices({.kind = K::Uniform, .count = 4}, 100) ==
        std::vector<int64_t>{0, 25, 50, 75});
  CHECK(calibration_indices({.kind = K::Uniform, .count = 2, .stride = 5}, 100) ==
        std::vector<int64_t>{0, 5});
  const auto r1 = calibration_indices({.kind = K::Random, .count = 50, .seed = 7}, 1000);
  const auto r2 = calibration_indices({.kind = K::Random, .count = 50, .seed = 7}, 1000);
  const auto r3 = calibration_indices({.kind = K::Random, .count = 50, .seed = 8}, 1000);
  CHECK(r1 == r2);
  CHECK(r1 != r3);
  REQUIRE(r1.size() == 50);
  CHECK(std::is_sorted(r1.begin(), r1.end()));
  CHECK(std::set<int64_t>(r1.begin(), r1.end()).size() == 50);
  CHECK(r1.back() < 1000);
  // Drawing everything is a permutation, returned sorted.
  CHECK(calibration_indices({.kind = K::Random, .seed = 3}, 5) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(parse_sampling_kind("uniform") == K::Uniform);
  CHECK_THROWS_WITH(parse_sampling_kind("every"), Contains("unknown sampling 'every'"));
  CHECK_THROWS_WITH(calibration_indices({.kind = K::Random, .count = 11}, 10),
                    Contains("cannot draw 11 distinct samples from 10"));
  CHECK_THROWS_WITH(calibration_indices({.kind = K::Uniform, .count = 5, .stride = 4}, 10),
                    Contains("fewer than count 5"));
  CHECK_THROWS_WITH(calibration_indices({.kind = K::Uniform}, 10), Contains("needs a count or a stride"));
  CHECK_THROWS_WITH(calibration_indices({.kind = K::All, .count = 3}, 10), Contains("count is 3"));
  CHECK_THROWS_WITH(calibration_indices({.kind = K::All}, 0), Contains("empty"));
}

TEST_CASE("FakeQuantize: observe and fake_quant switches, freezing, caching", "[quant]") {
  FakeQuantize fq({.scheme = {.bits = 4}});
  CHECK_THROWS_WITH(fq.qparams(), Contains("observed nothing"));
  const Tensor x = from_vector({-1.f, 0.1f, 0.37f, 2.f}, {4});
  fq.set_fake_quant(false);
  Tensor y = fq(x);
  CHECK(y.to_vector() == x.to_vector());
  const QParams qp = fq.qparams();
  CHECK(qp.scale[0] == Approx(3.f / 15.f));
  CHECK(qp.zero_point[0] == 5);  // round(1 / 0.2)
  fq.set_fake_quant(true);
  y = fq(x);
  // Hand values: q = round(x / 0.2) + 5 -> 0, 6, 7, 15; x_hat = 0.2 (q - 5).
  const std::vector<float> expect{-1.f, 0.2f, 0.4f, 2.f};
  for (size_t i = 0; i < 4; ++i) CHECK(y.to_vector()[i] == Approx(expect[i]).margin(1e-6));
  // Frozen: new data outside the range no longer moves the parameters, and is clipped.
  fq.set_observe(false);
  y = fq(from_vector({5.f}, {1}));
  CHECK(fq.qparams().scale[0] == qp.scale[0]);
  CHECK(y.item() == Approx(2.f));
  // Observing again widens the range (min-max keeps the history).
  fq.set_observe(true);
  fq(from_vector({5.f}, {1}));
  CHECK(fq.qparams().scale[0] == Approx(6.f / 15.f));
  // track_current forgets the history.
  FakeQuantize w({.scheme = {.bits = 8, .symmetric = true}, .track_current = true});
  w(from_vector({-4.f, 1.f}, {2}));
  w(from_vector({-1.f, 0.5f}, {2}));
  CHECK(w.qparams().scale[0] == Approx(1.f / 127.f));
  nn::Sequential net(FakeQuantize({}), nn::ReLU(), FakeQuantize({}));
  set_observe(net, false);
  set_fake_quant(net, false);
  for (const auto& [name, m] : net.named_modules())
    if (auto* f = dynamic_cast<FakeQuantize*>(m.get())) CHECK((!f->observing() && !f->fake_quantizing()));
  CHECK(parse_observer_kind("ema") == ObserverKind::MovingAverage);
  CHECK_THROWS_WITH(parse_observer_kind("kl"), Contains("unknown observer 'kl'"));
}

TEST_CASE("prepare_qat builds the fused sequence and leaves the float model alone", "[quant]") {
  Generator gen(2);
  auto model = small_lenet(gen);
  auto qat = prepare_qat(*model, default_qconfig(*model, {}));
  CHECK(type_names(*qat) ==
        std::vector<std::string>{"FakeQuantize", "QatConv2d", "ReLU", "FakeQuantize", "MaxPool2d",
                                 "Flatten", "QatLinear", "ReLU", "FakeQuantize", "QatLinear",
                                 "FakeQuantize"});
  nn::Sequential bn_net(nn::Conv2d({.in = 2, .out = 3, .kernel = 3, .bias = false}, gen),
                        nn::BatchNorm2d({.features = 3}), nn::ReLU(), nn::AvgPool2d({.kernel = 2}),
                        nn::GlobalAvgPool(), nn::Linear({.in = 3, .out = 2}, gen));
  CHECK(type_names(*prepare(bn_net, {})) ==
        std::vector<std::string>{"FakeQuantize", "QatConvBn2d", "ReLU", "FakeQuantize", "AvgPool2d",
                                 "FakeQuantize", "GlobalAvgPool", "FakeQuantize", "QatLinear",
                                 "FakeQuantize"});
  // A layer kept in float: its successor gets a fresh input FakeQuantize.
  QConfig keep;
  keep.rules = {{"4", LayerQConfig{.quantize = false}}};
  CHECK(type_names(*prepare(*model, keep)) ==
        std::vector<std::string>{"FakeQuantize", "QatConv2d", "ReLU", "FakeQuantize", "MaxPool2d",
                                 "Flatten", "Linear", "ReLU", "FakeQuantize", "QatLinear",
                                 "FakeQuantize"});
  // One training step on the QAT model changes its weights, not the float model's.
  const auto before = model->state_dict();
  std::vector<Tensor> snapshot;
  for (const auto& [n, t] : before) snapshot.push_back(t.clone());
  optim::SGD opt(qat->parameters(), {.lr = 0.1f});
  Tensor loss = sum(mul((*qat)(randn({2, 1, 8, 8}, gen)), 1.f));
  loss.backward();
  opt.step();
  size_t i = 0;
  for (const auto& [n, t] : model->state_dict()) CHECK(t.to_vector() == snapshot[i++].to_vector());
  CHECK(qat->parameters()[0].to_vector() != snapshot[0].to_vector());
  nn::Sequential odd(nn::Linear({.in = 2, .out = 2}, gen), nn::Sigmoid());
  CHECK_THROWS_WITH(prepare(odd, {}), Contains("module '1' (Sigmoid) is not supported"));
}

TEST_CASE("QAT forward equals a hand-built fake-quant forward", "[quant]") {
  Generator gen(3);
  nn::Sequential model(nn::Linear({.in = 6, .out = 5}, gen), nn::ReLU(),
                       nn::Linear({.in = 5, .out = 3}, gen));
  QConfig c = default_qconfig(model, {.weight_bits = 4, .activation_bits = 4, .keep_ends_8bit = false});
  auto qat = prepare_qat(model, c);
  const Tensor x = randn({4, 6}, gen);
  const Tensor y = (*qat)(x);
  const auto* l0 = dynamic_cast<const nn::Linear*>(model[0].get());
  const auto* l2 = dynamic_cast<const nn::Linear*>(model[2].get());
  // Each bias on the int32 grid of its layer's accumulator (input scale x weight scale).
  const QParams x_qp = tensor_asym(x, 4), w0_qp = rowwise_sym(l0->weight(), 4), w2_qp = rowwise_sym(l2->weight(), 4);
  const Tensor qx = fake_quantize(x, x_qp);
  const Tensor h = relu(linear(qx, fake_quantize(l0->weight(), w0_qp), grid_bias(l0->bias(), x_qp, w0_qp)));
  const QParams h_qp = tensor_asym(h, 4);
  const Tensor qh = fake_quantize(h, h_qp);
  const Tensor o = linear(qh, fake_quantize(l2->weight(), w2_qp), grid_bias(l2->bias(), h_qp, w2_qp));
  const Tensor expect = fake_quantize(o, tensor_asym(o, 4));
  require_close(y, expect, 1e-5f);
}

TEST_CASE("QatLinear: gradient to the input and straight through to the float weight", "[quant][grad]") {
  Generator gen(4);
  nn::Linear f({.in = 5, .out = 3}, gen);
  QatLinear q(f, {.bits = 4, .symmetric = true, .axis = 0});
  testing::grad_check([&](const std::vector<Tensor>& in) { return q(in[0]); },
                      {testing::param({2, 5}, 11)});
  testing::full_jacobian_check([&](const std::vector<Tensor>& in) { return q(in[0]); },
                               {testing::param({2, 5}, 12)});
  // Min-max ranges keep every weight inside the clip range, so the STE passes dL/dW = g^T x
  // to the float weight unchanged.
  const Tensor x = randn({2, 5}, gen), g = randn({2, 3}, gen);
  q.zero_grad();
  sum(mul(q(x), g)).backward();
  const Tensor expect = matmul(g.t(), x);
  Tensor w = q.parameters()[0];
  require_close(w.grad(), expect, 1e-5f);
}

TEST_CASE("QatConvBn2d folds BatchNorm: equals conv then BN in eval mode", "[quant]") {
  Generator gen(5);
  nn::Conv2d conv({.in = 2, .out = 3, .kernel = 3, .padding = 1}, gen);
  nn::BatchNorm2d bn({.features = 3});
  Tensor(bn.running_mean()).copy_(from_vector({0.3f, -0.2f, 0.1f}, {3}));
  Tensor(bn.running_var()).copy_(from_vector({0.5f, 2.f, 1.5f}, {3}));
  Tensor(bn.weight()).copy_(from_vector({1.5f, 0.7f, -0.9f}, {3}));
  Tensor(bn.bias()).copy_(from_vector({0.1f, -0.4f, 0.25f}, {3}));
  conv.eval();
  bn.eval();
  QatConvBn2d q(conv, bn, {.bits = 8, .symmetric = true, .axis = 0});
  q.weight_fake_quant().set_fake_quant(false);
  const Tensor x = randn({2, 2, 5, 5}, gen);
  require_close(q(x), bn(conv(x)), 1e-5f);
  // Hand check of the folded weight of channel 2: w * gamma / sqrt(var + eps).
  const auto [w, b] = q.effective_weight_bias();
  const float s2 = -0.9f / std::sqrt(1.5f + 1e-5f);
  CHECK(w.at({2, 1, 0, 2}) == Approx(conv.weight().at({2, 1, 0, 2}) * s2));
  CHECK(b.at({2}) == Approx(0.25f + (conv.bias().at({2}) - 0.1f) * s2));
  // fold_scale is that per-channel factor (quant_sweep divides by it to store a weight).
  const Tensor fs = q.fold_scale();
  REQUIRE(fs.shape() == std::vector<int64_t>{3});
  CHECK(fs.at({2}) == Approx(s2));
  CHECK(fs.at({0}) == Approx(1.5f / std::sqrt(0.5f + 1e-5f)));
  // With fake quantization on, the forward is conv with the folded weight fake-quantized.
  q.weight_fake_quant().set_fake_quant(true);
  const Tensor wq = fake_quantize(w, rowwise_sym(w.reshape({3, 18}), 8));
  require_close(q(x), conv2d(x, wq, b, {.padding = 1}), 1e-5f);
  nn::BatchNorm2d bad({.features = 4});
  CHECK_THROWS_WITH(QatConvBn2d(conv, bad, {}), Contains("BatchNorm2d has 4 features"));
}
