// convert(): the integer-only model against an integer pipeline written out here with naive
// loops (quantize the input, im2col-free convolution with zero-point padding, int32 bias,
// fixed-point requantization, ReLU as the clamp, max-pool on codes, linear), and against the
// fake-quant model it came from (within one output quantization step on nearly every logit).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "core/autograd.h"
#include "core/backend/cuda_device.h"
#include "core/ops/elementwise.h"
#include "nn/nn.h"
#include "quant/intmodel/convert.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/quant.h"
#include "quant/kernels/requantize.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

std::shared_ptr<nn::Sequential> conv_net(Generator& gen) {
  return std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 2, .out = 3, .kernel = 3, .padding = 1}, gen), nn::ReLU(),
      nn::MaxPool2d({.kernel = 2}), nn::Flatten(), nn::Linear({.in = 48, .out = 4}, gen));
}

// prepare, calibrate on x, freeze, fake-quant on.
std::shared_ptr<nn::Sequential> calibrated(const nn::Sequential& model, const Tensor& x, const QConfig& c) {
  auto q = prepare(model, c);
  {
    NoGradGuard no_grad;
    (*q)(x);
  }
  set_observe(*q, false);
  set_fake_quant(*q, true);
  return q;
}

int32_t q_of(float v, const QParams& qp, size_t c) {
  return static_cast<int32_t>(clamp_q(quantize_unclamped(v, qp.scale[c], qp.zero_point[c]), qp.qmin(), qp.qmax()));
}

// One output value of the fixed-point stage.
int32_t requant(int64_t acc, double s_in, double s_w, const QParams& out, bool relu) {
  int32_t m0;
  int shift;
  quantize_multiplier(s_in * s_w / out.scale[0], &m0, &shift);
  return requantize(static_cast<int32_t>(acc), m0, shift, out.zero_point[0], relu ? out.zero_point[0] : 0,
                    out.qmax());
}

}  // namespace

TEST_CASE("convert: the integer model equals a hand-written integer pipeline exactly", "[quant]") {
  Generator gen(21);
  auto model = conv_net(gen);
  const Tensor x = randn({3, 2, 8, 8}, gen);
  auto fq = calibrated(*model, x, {});
  auto im = convert(*fq);
  REQUIRE(im->layers.size() == 4);  // conv, maxpool, flatten, linear
  const Tensor got = im->forward_int(quantize(x, im->input_qparams));
  REQUIRE(got.shape() == Shape{3, 4});

  auto& conv = dynamic_cast<QatConv2d&>(*(*fq)[1]);
  auto& lin = dynamic_cast<QatLinear&>(*(*fq)[6]);
  const QParams in = dynamic_cast<FakeQuantize&>(*(*fq)[0]).qparams();
  const QParams mid = dynamic_cast<FakeQuantize&>(*(*fq)[3]).qparams();
  const QParams out = dynamic_cast<FakeQuantize&>(*(*fq)[7]).qparams();
  const QParams wc = conv.weight_qparams(), wl = lin.weight_qparams();
  const auto [cw, cb] = conv.effective_weight_bias();
  const auto [lw, lb] = lin.effective_weight_bias();
  CHECK(mid.zero_point[0] == 0);  // observed after the ReLU

  for (int64_t n = 0; n < 3; ++n) {
    // conv 2 -> 3, k 3, padding 1 (padding is the input zero point, i.e. contributes 0)
    std::vector<int32_t> act(3 * 8 * 8);
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t y = 0; y < 8; ++y)
        for (int64_t xx = 0; xx < 8; ++xx) {
          const double sw = wc.scale[static_cast<size_t>(o)];
          int64_t acc = static_cast<int64_t>(std::round(cb.at({o}) / (in.scale[0] * sw)));
          for (int64_t c = 0; c < 2; ++c)
            for (int64_t ky = 0; ky < 3; ++ky)
              for (int64_t kx = 0; kx < 3; ++kx) {
                const int64_t iy = y + ky - 1, ix = xx + kx - 1;
                if (iy < 0 || iy >= 8 || ix < 0 || ix >= 8) continue;
                const int32_t qx = q_of(x.at({n, c, iy, ix}), in, 0);
                acc += static_cast<int64_t>(qx - in.zero_point[0]) *
                       q_of(cw.at({o, c, ky, kx}), wc, static_cast<size_t>(o));
              }
          act[static_cast<size_t>((o * 8 + y) * 8 + xx)] = requant(acc, in.scale[0], sw, mid, true);
        }
    // max-pool 2 on codes, flatten (c, y, x order)
    std::vector<int32_t> flat;
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t y = 0; y < 4; ++y)
        for (int64_t xx = 0; xx < 4; ++xx) {
          int32_t m = 0;
          for (int64_t d = 0; d < 4; ++d)
            m = std::max(m, act[static_cast<size_t>((o * 8 + 2 * y + d / 2) * 8 + 2 * xx + d % 2)]);
          flat.push_back(m);
        }
    // linear 48 -> 4, no ReLU
    for (int64_t o = 0; o < 4; ++o) {
      const double sw = wl.scale[static_cast<size_t>(o)];
      int64_t acc = static_cast<int64_t>(std::round(lb.at({o}) / (mid.scale[0] * sw)));
      for (int64_t k = 0; k < 48; ++k)
        acc += static_cast<int64_t>(flat[static_cast<size_t>(k)] - mid.zero_point[0]) *
               q_of(lw.at({o, k}), wl, static_cast<size_t>(o));
      CHECK(static_cast<int32_t>(got.at<uint8_t>({n, o})) == requant(acc, mid.scale[0], sw, out, false));
    }
  }
}

TEST_CASE("convert: integer and fake-quant models agree within one output step", "[quant]") {
  Generator gen(22);
  auto model = conv_net(gen);
  const Tensor calib = randn({16, 2, 8, 8}, gen);
  for (bool per_channel : {true, false}) {
    auto fq = calibrated(*model, calib, default_qconfig(*model, {.per_channel = per_channel}));
    auto im = convert(*fq);
    NoGradGuard no_grad;
    const Tensor x = randn({32, 2, 8, 8}, gen);
    const auto a = (*fq)(x).to_vector(), b = (*im)(x).to_vector();
    const double step = im->output_qparams.scale[0];
    int64_t within = 0;
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double d = std::fabs(a[i] - b[i]);
      within += d <= step * 1.001;
      worst = std::max(worst, d);
    }
    CHECK(static_cast<double>(within) >= 0.95 * static_cast<double>(a.size()));
    CHECK(worst <= 3 * step);
  }
}

TEST_CASE("convert: BN-folded conv and average pools agree with the fake-quant model", "[quant]") {
  Generator gen(23);
  nn::Sequential model(nn::Conv2d({.in = 2, .out = 4, .kernel = 3, .padding = 1, .bias = false}, gen),
                       nn::BatchNorm2d({.features = 4}), nn::ReLU(), nn::AvgPool2d({.kernel = 2}),
                       nn::GlobalAvgPool(), nn::Linear({.in = 4, .out = 3}, gen));
  {  // give BN non-trivial running statistics
    NoGradGuard no_grad;
    model.train();
    for (int i = 0; i < 5; ++i) model(add(mul(randn({8, 2, 8, 8}, gen), 2.f), 0.5f));
    model.eval();
  }
  auto fq = calibrated(model, randn({16, 2, 8, 8}, gen), {});
  auto im = convert(*fq);
  NoGradGuard no_grad;
  const Tensor x = randn({16, 2, 8, 8}, gen);
  const auto a = (*fq)(x).to_vector(), b = (*im)(x).to_vector();
  const double step = im->output_qparams.scale[0];
  int64_t within = 0;
  for (size_t i = 0; i < a.size(); ++i) within += std::fabs(a[i] - b[i]) <= step * 1.001;
  CHECK(static_cast<double>(within) >= 0.9 * static_cast<double>(a.size()));
}

TEST_CASE("convert: misuse is reported", "[quant]") {
  Generator gen(24);
  auto model = conv_net(gen);
  CHECK_THROWS_WITH(convert(*model), Contains("must start with its input FakeQuantize"));
  CHECK_THROWS_WITH(convert(*prepare(*model, {})), Contains("observed nothing"));
  QConfig asym = default_qconfig(*model, {.symmetric_weights = false});
  CHECK_THROWS_WITH(convert(*calibrated(*model, randn({2, 2, 8, 8}, gen), asym)),
                    Contains("needs symmetric weights"));
  auto im = convert(*calibrated(*model, randn({2, 2, 8, 8}, gen), {}));
  CHECK_THROWS_WITH(im->forward_int(zeros({1, 3, 8, 8}, DType::UInt8)), Contains("expects 2 input channels"));
}

TEST_CASE("convert: a leading Flatten runs on the uint8 codes (MLP)", "[quant]") {
  Generator gen(26);
  nn::Sequential mlp(nn::Flatten(), nn::Linear({.in = 16, .out = 8}, gen), nn::ReLU(),
                     nn::Linear({.in = 8, .out = 3}, gen));
  auto fq = calibrated(mlp, randn({8, 1, 4, 4}, gen), {});
  auto im = convert(*fq);
  REQUIRE(im->layers.size() == 3);
  CHECK(im->layers[0]->name() == "IntFlatten");
  NoGradGuard no_grad;
  const Tensor x = randn({8, 1, 4, 4}, gen);
  const auto a = (*fq)(x).to_vector(), b = (*im)(x).to_vector();
  int64_t within = 0;
  for (size_t i = 0; i < a.size(); ++i) within += std::fabs(a[i] - b[i]) <= im->output_qparams.scale[0] * 1.001;
  CHECK(static_cast<double>(within) >= 0.9 * static_cast<double>(a.size()));
}

TEST_CASE("IntModel: Device::CUDA is refused where there is no GPU, with the reason", "[quant]") {
  Generator gen(24);
  auto im = convert(*calibrated(*conv_net(gen), randn({2, 2, 8, 8}, gen), {}));
  CHECK(im->execution_device() == Device::CPU);
  if (cuda_device_count() > 0) return;  // tests/cuda runs the model there
  CHECK_THROWS_WITH(im->set_execution_device(Device::CUDA),
                    Contains("IntModel::set_execution_device") && (Contains("no CUDA backend") || Contains("no CUDA device")));
  CHECK(im->execution_device() == Device::CPU);
  CHECK_NOTHROW(im->set_execution_device(Device::CPU));
}
