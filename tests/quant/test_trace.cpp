// Any module tree: a model with its own forward (two branches joined by nn::Add) is traced into
// the Sequential of its leaves, prepared with layers named by their paths in the model,
// calibrated, trained one QAT step, converted, saved and loaded; the integer model matches its
// fake-quant twin. What tracing cannot express fails naming the module.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <functional>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/loss.h"
#include "core/ops/reduce.h"
#include "nn/nn.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/trace.h"
#include "quant/intmodel/convert.h"
#include "quant/intmodel/int_model_file.h"
#include "quant/quant.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

nn::ModulePtr conv_bn_relu(int64_t in, int64_t out, Generator& gen) {
  return std::make_shared<nn::Sequential>(nn::Conv2d({.in = in, .out = out, .kernel = 3, .padding = 1, .bias = false}, gen),
                                          nn::BatchNorm2d({.features = out}), nn::ReLU());
}

// stem -> (left branch, right branch) -> add -> ReLU -> pool -> head, written as its own forward.
class TwoBranch : public nn::Module {
 public:
  // identity_right: add(left(h), h), the identity shortcut.
  TwoBranch(Generator& gen, bool identity_right = false) : identity_right_(identity_right) {
    stem_ = register_module("stem", conv_bn_relu(3, 8, gen));
    left_ = register_module("left", std::make_shared<nn::Sequential>(
                                        nn::Conv2d({.in = 8, .out = 8, .kernel = 3, .padding = 1, .groups = 8}, gen),
                                        nn::ReLU(), nn::Conv2d({.in = 8, .out = 8, .kernel = 1}, gen)));
    right_ = register_module("right", std::make_shared<nn::Conv2d>(nn::Conv2dOptions{.in = 8, .out = 8, .kernel = 1}, gen));
    add_ = register_module("add", std::make_shared<nn::Add>());
    relu_ = register_module("relu", std::make_shared<nn::ReLU>());
    pool_ = register_module("pool", std::make_shared<nn::GlobalAvgPool>());
    head_ = register_module("head", std::make_shared<nn::Linear>(nn::LinearOptions{.in = 8, .out = 4}, gen));
  }
  Tensor forward(const Tensor& x) override {
    const Tensor h = (*stem_)(x);
    const Tensor joined = (*add_)((*left_)(h), identity_right_ ? h : (*right_)(h));
    return (*head_)((*pool_)((*relu_)(joined)));
  }
  std::string type_name() const override { return "TwoBranch"; }

 private:
  bool identity_right_;
  nn::ModulePtr stem_, left_, right_, relu_, pool_, head_;
  std::shared_ptr<nn::Add> add_;
};

// A forward that adds with `+` instead of an nn::Add.
class HiddenAdd : public nn::Module {
 public:
  explicit HiddenAdd(Generator& gen) {
    a_ = register_module("a", std::make_shared<nn::Linear>(nn::LinearOptions{.in = 4, .out = 4}, gen));
    b_ = register_module("b", std::make_shared<nn::Linear>(nn::LinearOptions{.in = 4, .out = 4}, gen));
  }
  Tensor forward(const Tensor& x) override { return (*b_)(add((*a_)(x), x)); }
  std::string type_name() const override { return "HiddenAdd"; }

 private:
  nn::ModulePtr a_, b_;
};

std::vector<std::string> types(const nn::Sequential& s) {
  std::vector<std::string> out;
  for (const auto& [name, m] : s.children()) out.push_back(m->type_name());
  return out;
}

// Some BatchNorm statistics, as training would leave them.
void warm_up(nn::Module& model, Generator& gen) {
  model.train(true);
  NoGradGuard no_grad;
  for (int i = 0; i < 3; ++i) model(randn({8, 3, 10, 10}, gen));
  model.eval();
}

}  // namespace

TEST_CASE("trace: a model with its own forward becomes the Sequential of its leaves", "[quant]") {
  Generator gen(1);
  TwoBranch model(gen);
  warm_up(model, gen);
  const Tensor x = randn({5, 3, 10, 10}, gen);
  const TracedModel t = trace(model, x);
  CHECK(types(*t.sequential) ==
        std::vector<std::string>{"Conv2d", "BatchNorm2d", "ReLU", "Residual", "ReLU", "GlobalAvgPool", "Linear"});
  const auto& residual = *(*t.sequential)[3];
  CHECK(t.paths.at(&residual) == "add");
  CHECK(t.paths.at((*t.sequential)[0].get()) == "stem.0");
  CHECK(residual.children().size() == 2);  // body (left) and shortcut (right)
  NoGradGuard no_grad;
  CHECK((*t.sequential)(x).to_vector() == model(x).to_vector());

  TwoBranch identity(gen, true);
  const TracedModel ti = trace(identity, x);
  CHECK((*ti.sequential)[3]->children().size() == 1);  // body only: the identity shortcut
  CHECK((*ti.sequential)(x).to_vector() == identity(x).to_vector());
}

TEST_CASE("trace: what a residual add cannot express fails naming the module", "[quant]") {
  Generator gen(2);
  HiddenAdd hidden(gen);
  CHECK_THROWS_WITH(trace(hidden, randn({2, 4}, gen)), Contains("the input of 'b' (Linear) was computed outside a module"));
  nn::Add lone;
  CHECK_THROWS_WITH(lone(randn({2, 4}, gen)), Contains("takes two inputs"));
}

TEST_CASE("a non-Sequential model prepares, calibrates, trains, converts and matches its fake-quant twin",
          "[quant]") {
  Generator gen(3);
  TwoBranch model(gen);
  warm_up(model, gen);
  const Tensor x = randn({64, 3, 10, 10}, gen);
  // Layers are named as the model names them: "right" at 4 bits, the rest at 8.
  QConfig config = default_qconfig(model, {.keep_ends_8bit = false});
  LayerQConfig four = config.default_config;
  four.weight.bits = 4;
  config.rules.push_back({"right", four});
  auto q = prepare(model, config, x);
  {
    NoGradGuard no_grad;
    (*q)(x);
  }
  set_observe(*q, false);
  set_fake_quant(*q, true);
  auto im = convert(*q);
  CHECK_THAT(im->options_str(), Contains("IntResidual"));
  int four_bit = 0;  // "right" only, found inside the residual
  std::function<void(const IntLayers&)> walk = [&](const IntLayers& layers) {
    for (const auto& l : layers) {
      if (l->gemm() && l->gemm()->params.weight_bits == 4) ++four_bit;
      for (const IntLayers* inner : l->nested()) walk(*inner);
    }
  };
  walk(im->layers);
  CHECK(four_bit == 1);
  Tensor fake, integer;
  {
    NoGradGuard no_grad;
    fake = (*q)(x);
    integer = (*im)(x);
  }
  // Conv and linear outputs are the integer model's exactly (the exact forward); the add is
  // computed in float by the fake-quant model, so a sum next to a rounding boundary may differ
  // by one step.
  const float step = im->output_qparams.scale[0];
  const auto f = fake.to_vector(), i = integer.to_vector();
  for (size_t j = 0; j < f.size(); ++j) CHECK(std::fabs(f[j] - i[j]) <= 2.01f * step);
  const Tensor pf = argmax(fake, 1), pi = argmax(integer, 1);
  int same = 0;
  for (int64_t j = 0; j < pf.numel(); ++j) same += pf.data<int32_t>()[j] == pi.data<int32_t>()[j];
  CHECK(same >= 60);

  // The model file round trip.
  const std::string path = "trace_int_model.safetensors";
  save_int_model(path, *im);
  const auto loaded = load_int_model(path);
  const Tensor codes = quantize(x, im->input_qparams);
  CHECK(loaded->forward_int(codes).to_vector<uint8_t>() == im->forward_int(codes).to_vector<uint8_t>());
  std::remove(path.c_str());

  // QAT: one step on the prepared model trains its (copied) weights.
  auto qat = prepare_qat(model, config, x);
  qat->train(true);
  optim::SGD opt(qat->parameters(), {.lr = 0.01f});
  const std::vector<float> before = qat->parameters()[0].to_vector();
  const Tensor loss = cross_entropy((*qat)(x), from_vector<int32_t>(std::vector<int32_t>(64, 1), {64}));
  opt.zero_grad();
  loss.backward();
  opt.step();
  CHECK(std::isfinite(loss.item()));
  CHECK(qat->parameters()[0].to_vector() != before);
}
