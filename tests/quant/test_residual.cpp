// Residual blocks through the quantization workflow: the integer add (IntAdd) against the
// real-valued formula in double precision over many random scales and zero points (exact for
// dyadic scales, ties included), prepare / prepare_qat descending into nn::Residual and
// nn::BasicBlock, and convert's IntResidual against the fake-quant model it came from.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <typeinfo>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/reduce.h"
#include "nn/nn.h"
#include "quant/intmodel/convert.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/intmodel/int_residual.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/quant.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

// The integer add's specification: clamp(z_o + round_half_up(M_a (a - z_a) + M_b (b - z_b))).
int32_t reference_add(const IntAdd& add, int32_t a, int32_t b, double* value = nullptr) {
  const double r = static_cast<double>(add.a_scale) / add.out_scale * (a - add.a_zero_point) +
                   static_cast<double>(add.b_scale) / add.out_scale * (b - add.b_zero_point);
  if (value) *value = r;
  const double y = add.out_zero_point + std::floor(r + 0.5);
  return static_cast<int32_t>(std::clamp<double>(y, add.qmin, add.qmax));
}

// The fake-quant model after calibration on calib (observers frozen, fake quantization on).
std::shared_ptr<nn::Sequential> calibrated(const nn::Sequential& model, const Tensor& calib) {
  auto q = prepare(model, {});
  {
    NoGradGuard no_grad;
    (*q)(calib);
  }
  set_observe(*q, false);
  set_fake_quant(*q, true);
  return q;
}

// Random but non-trivial BatchNorm running statistics: a few training-mode passes.
void settle_batch_norm(nn::Module& model, Generator& gen, const Shape& input) {
  NoGradGuard no_grad;
  model.train();
  for (int i = 0; i < 4; ++i) model(add(mul(randn(input, gen), 1.5f), 0.3f));
  model.eval();
}

Shape with_batch(int64_t n, const Shape& s) {
  Shape out{n};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

std::shared_ptr<nn::Sequential> resnet_like(Generator& gen) {
  // stem, an identity block, a projection block (stride 2), global pool, classifier
  return std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 3, .out = 8, .kernel = 3, .padding = 1, .bias = false}, gen), nn::BatchNorm2d({.features = 8}),
      nn::ReLU(), nn::BasicBlock({.in = 8, .out = 8}, gen), nn::BasicBlock({.in = 8, .out = 16, .stride = 2}, gen),
      nn::GlobalAvgPool(), nn::Linear({.in = 16, .out = 10}, gen));
}

// Plain Residuals: a Sequential body with a ReLU module after the block (fused), a single-conv
// body with a single-conv projection and no ReLU after the add, and a residual nested in a body.
std::shared_ptr<nn::Sequential> plain_residuals(Generator& gen) {
  auto body = std::make_shared<nn::Sequential>(nn::Conv2d({.in = 6, .out = 6, .kernel = 3, .padding = 1}, gen),
                                               nn::ReLU(), nn::Conv2d({.in = 6, .out = 6, .kernel = 3, .padding = 1}, gen));
  auto inner = std::make_shared<nn::Residual>(nn::Conv2d({.in = 6, .out = 6, .kernel = 1}, gen));
  auto nested_body = std::make_shared<nn::Sequential>(nn::Conv2d({.in = 6, .out = 6, .kernel = 3, .padding = 1}, gen),
                                                      nn::ReLU(), inner);
  return std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 2, .out = 6, .kernel = 3, .padding = 1}, gen), nn::ReLU(), nn::Residual(body), nn::ReLU(),
      nn::Residual(nn::Conv2d({.in = 6, .out = 6, .kernel = 3, .padding = 1}, gen),
                   nn::Conv2d({.in = 6, .out = 6, .kernel = 1}, gen)),
      nn::Residual(nested_body), nn::MaxPool2d({.kernel = 2}), nn::Flatten(), nn::Linear({.in = 6 * 16, .out = 5}, gen));
}

struct Agreement {
  double same_prediction = 0, within_one_step = 0, worst_steps = 0;
};

Agreement agreement(nn::Module& fake_quant, IntModel& integer, const Tensor& x) {
  NoGradGuard no_grad;
  const Tensor a = fake_quant(x), b = integer(x);
  const auto av = a.to_vector(), bv = b.to_vector();
  const double step = integer.output_qparams.scale[0];
  const int64_t n = a.size(0), k = a.size(1);
  Agreement r;
  int64_t same = 0, within = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t ia = 0, ib = 0;
    for (int64_t j = 0; j < k; ++j) {
      const auto at = static_cast<size_t>(i * k + j);
      if (av[at] > av[static_cast<size_t>(i * k + ia)]) ia = j;
      if (bv[at] > bv[static_cast<size_t>(i * k + ib)]) ib = j;
      const double d = std::fabs(av[at] - bv[at]) / step;
      within += d <= 1.001;
      r.worst_steps = std::max(r.worst_steps, d);
    }
    same += ia == ib;
  }
  r.same_prediction = static_cast<double>(same) / static_cast<double>(n);
  r.within_one_step = static_cast<double>(within) / static_cast<double>(n * k);
  return r;
}

}  // namespace

TEST_CASE("IntAdd: equals the real-valued formula over random scales and zero points", "[quant]") {
  Generator gen(61);
  int64_t total = 0, differ = 0, off_by_more = 0, differ_far_from_tie = 0;
  for (int trial = 0; trial < 300; ++trial) {
    // scales log-uniform over [2^-12, 2^2], so M_a, M_b range over about 2^-14 .. 2^14
    auto scale = [&] { return static_cast<float>(std::exp2(-12.0 + 14.0 * gen.uniform())); };
    const float sa = scale(), sb = scale(), so = scale();
    const auto zp = [&](int32_t hi) { return static_cast<int32_t>(gen.below(static_cast<uint64_t>(hi) + 1)); };
    const int32_t qmax = trial % 5 == 0 ? 15 : 255;  // some 4-bit outputs
    const int32_t zo = zp(qmax);
    const bool relu = trial % 3 == 0;
    const IntAdd add(sa, zp(255), sb, zp(255), so, zo, relu ? zo : 0, qmax);
    for (int32_t a = 0; a < 256; ++a)
      for (int32_t b = 0; b < 256; ++b) {
        double r = 0;
        const int32_t want = reference_add(add, a, b, &r);
        const int32_t got = add(static_cast<uint8_t>(a), static_cast<uint8_t>(b));
        ++total;
        if (got == want) continue;
        ++differ;
        off_by_more += std::abs(got - want) > 1;
        // Only a value within the multipliers' rounding error of a .5 tie may round differently.
        const double to_tie = std::fabs(r - std::floor(r) - 0.5);
        const double bound = 255 * std::max(add.a_scale, add.b_scale) / add.out_scale * std::ldexp(1.0, -30);
        differ_far_from_tie += to_tie > 2 * bound + 1e-12;
      }
  }
  std::printf("IntAdd vs double: %lld of %lld results differ (all by one step, next to a tie)\n",
              static_cast<long long>(differ), static_cast<long long>(total));
  CHECK(off_by_more == 0);
  CHECK(differ_far_from_tie == 0);
  CHECK(static_cast<double>(differ) <= 1e-4 * static_cast<double>(total));
}

TEST_CASE("IntAdd: exact for dyadic scales, ties rounded toward +infinity", "[quant]") {
  Generator gen(62);
  for (int trial = 0; trial < 100; ++trial) {
    auto scale = [&] { return std::ldexp(1.0f, -static_cast<int>(gen.below(10))); };
    const int32_t zo = static_cast<int32_t>(gen.below(256));
    const IntAdd add(scale(), static_cast<int32_t>(gen.below(256)), scale(), static_cast<int32_t>(gen.below(256)),
                     scale(), zo, trial % 2 ? zo : 0, 255);
    for (int32_t a = 0; a < 256; ++a)
      for (int32_t b = 0; b < 256; ++b)
        REQUIRE(static_cast<int32_t>(add(static_cast<uint8_t>(a), static_cast<uint8_t>(b))) ==
                reference_add(add, a, b));
  }
  // M_a = M_b = 1/2: (a - z_a + b - z_b) / 2 with ties: -0.5 -> 0, +0.5 -> 1, -1.5 -> -1.
  const IntAdd half(1.f, 100, 1.f, 100, 2.f, 128, 0, 255);
  CHECK(half(99, 100) == 128);
  CHECK(half(101, 100) == 129);
  CHECK(half(98, 99) == 127);
  CHECK(half(0, 0) == 28);     // -100
  CHECK(half(255, 255) == 255);  // 155 + 128 clamps
  const IntAdd relu(1.f, 100, 1.f, 100, 2.f, 10, 10, 255);
  CHECK(relu(0, 0) == 10);  // negative sums clamp at the zero point
  CHECK_THROWS_WITH(IntAdd(1.f, 0, 1.f, 0, 0.f, 0, 0, 255), Contains("positive and finite"));
  CHECK_THROWS_WITH(IntAdd(1e10f, 0, 1.f, 0, 1e-10f, 0, 0, 255), Contains("quantize_multiplier"));
}

TEST_CASE("IntResidual runs both branches on NHWC codes and adds them", "[quant]") {
  // identity shortcut, body = IntReLU: y = relu_q(x) + x on the codes' real values
  IntLayers body;
  body.push_back(std::make_unique<IntReLU>(50));
  QParams qp;
  qp.scale = {0.5f};
  qp.zero_point = {50};
  QParams out = qp;
  out.scale = {1.f};
  out.zero_point = {100};
  const IntResidual r(std::move(body), {}, qp, qp, out, false);
  CHECK(r.describe() == "IntResidual(body=1, shortcut=0, relu=0)");
  const Tensor x = from_vector<uint8_t>({0, 50, 51, 60, 255, 49}, {1, 1, 2, 3});
  const auto y = r.run(x).to_vector<uint8_t>();
  // real x: -25, 0, 0.5, 5, 102.5, -0.5; relu(x) + x: -25, 0, 1, 10, 205, -0.5
  CHECK(y == std::vector<uint8_t>{75, 100, 101, 110, 255, 100});  // -0.5 rounds up to 0
  CHECK_THROWS_WITH(r.run(from_vector<float>({1.f}, {1})), Contains("expects uint8"));
}

TEST_CASE("prepare descends into Residual and BasicBlock", "[quant]") {
  Generator gen(63);
  auto model = resnet_like(gen);
  auto q = prepare(*model, {});
  // FQ, QatConvBn2d, ReLU, FQ, Residual, ReLU, FQ, Residual, ReLU, FQ, GlobalAvgPool, FQ, QatLinear, FQ
  REQUIRE(q->size() == 14);
  CHECK(typeid(*(*q)[4]) == typeid(nn::Residual));
  CHECK((*q)[5]->type_name() == "ReLU");
  CHECK((*q)[6]->type_name() == "FakeQuantize");
  const auto& block = *(*q)[7];
  REQUIRE(block.children().size() == 2);
  const auto& body = dynamic_cast<const nn::Sequential&>(*block.children()[0].second);
  const auto& shortcut = dynamic_cast<const nn::Sequential&>(*block.children()[1].second);
  // body: QatConvBn2d ReLU FQ QatConvBn2d FQ (no FakeQuantize in front: the input is quantized)
  REQUIRE(body.size() == 5);
  CHECK(body[0]->type_name() == "QatConvBn2d");
  CHECK(body[4]->type_name() == "FakeQuantize");
  REQUIRE(shortcut.size() == 2);
  CHECK(shortcut[0]->type_name() == "QatConvBn2d");
  // Without fake quantization the prepared model computes the float model.
  const Tensor x = randn({4, 3, 8, 8}, gen);
  {
    NoGradGuard no_grad;
    model->eval();
    q->eval();
    const auto want = (*model)(x).to_vector(), got = (*q)(x).to_vector();
    for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-4));
  }
  // Nested names reach the config: 4-bit weights for the projection shortcut only.
  QConfig c;
  c.rules.push_back({"4.shortcut.*", LayerQConfig{.weight = {.bits = 4, .symmetric = true, .axis = 0}}});
  auto q4 = prepare(*model, c);
  (*q4)(x);
  auto& proj = dynamic_cast<QatLayer&>(*(*q4)[7]->children()[1].second->children()[0].second);
  CHECK(proj.weight_qparams().bits == 4);
  auto& conv = dynamic_cast<QatLayer&>(*(*q4)[7]->children()[0].second->children()[0].second);
  CHECK(conv.weight_qparams().bits == 8);
  // A Residual subclass with its own forward is refused.
  struct Custom : nn::Residual {
    Custom() : nn::Residual(nn::ReLU()) {}
    std::string type_name() const override { return "Custom"; }
  };
  nn::Sequential odd(Custom{});
  CHECK_THROWS_WITH(prepare(odd, {}), Contains("module '0' (Custom) is not supported"));
}

TEST_CASE("prepare_qat: gradients reach both branches of a block", "[quant]") {
  Generator gen(64);
  auto model = resnet_like(gen);
  auto q = prepare_qat(*model, {});
  q->train();
  const Tensor x = randn({4, 3, 8, 8}, gen);
  Tensor loss = sum((*q)(x));
  loss.backward();
  for (const auto& [name, p] : q->named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
  }
}

TEST_CASE("convert: IntResidual models agree with the fake-quant model (BasicBlocks, plain Residuals)", "[quant]") {
  Generator gen(65);
  struct Case {
    const char* name;
    std::shared_ptr<nn::Sequential> model;
    Shape input;
    size_t int_layers;
  };
  std::vector<Case> cases{{"basic blocks", resnet_like(gen), {3, 12, 12}, 5},
                          {"plain residuals", plain_residuals(gen), {2, 8, 8}, 7}};
  for (auto& c : cases) {
    INFO(c.name);
    settle_batch_norm(*c.model, gen, with_batch(16, c.input));
    const Tensor calib = add(mul(randn(with_batch(128, c.input), gen), 1.5f), 0.3f);
    auto fq = calibrated(*c.model, calib);
    auto im = convert(*fq);
    REQUIRE(im->layers.size() == c.int_layers);
    const Tensor x = add(mul(randn(with_batch(512, c.input), gen), 1.5f), 0.3f);
    const Agreement r = agreement(*fq, *im, x);
    std::printf("%s: same prediction %.4f, logits within one output step %.4f, worst %.2f steps\n", c.name,
                r.same_prediction, r.within_one_step, r.worst_steps);
    CHECK(r.same_prediction >= 0.99);
    CHECK(r.within_one_step >= 0.95);
    CHECK(r.worst_steps <= 3.001);
  }
}

TEST_CASE("convert: the residual's pieces are the ones the fake-quant model observed", "[quant]") {
  Generator gen(66);
  auto model = resnet_like(gen);
  settle_batch_norm(*model, gen, {8, 3, 8, 8});
  auto fq = calibrated(*model, randn({32, 3, 8, 8}, gen));
  auto im = convert(*fq);
  const auto& r = dynamic_cast<const IntResidual&>(*im->layers[2]);
  CHECK(r.describe() == "IntResidual(body=2, shortcut=1, relu=1)");
  const QParams sum_qp = dynamic_cast<FakeQuantize&>(*(*fq)[9]).qparams();
  const auto& body = dynamic_cast<const nn::Sequential&>(*(*fq)[7]->children()[0].second);
  const QParams body_qp = dynamic_cast<FakeQuantize&>(*body[4]).qparams();
  CHECK(r.add().out_scale == sum_qp.scale[0]);
  CHECK(r.add().out_zero_point == sum_qp.zero_point[0]);
  CHECK(r.add().qmin == sum_qp.zero_point[0]);  // the block's ReLU is the clamp
  CHECK(r.add().a_scale == body_qp.scale[0]);
  // The identity block's shortcut is the block input: the stem's output qparams.
  const auto& id = dynamic_cast<const IntResidual&>(*im->layers[1]);
  CHECK(id.shortcut().empty());
  CHECK(id.add().b_scale == dynamic_cast<FakeQuantize&>(*(*fq)[3]).qparams().scale[0]);
}
