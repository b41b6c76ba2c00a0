// Module bookkeeping: registration, dotted names, modes, state dicts (strict loading), repr,
// summary.
#include <catch2/catch.hpp>

#include <sstream>

#include "nn_test_util.h"

using namespace qgrad;
using testing::ScaleModule;

namespace {

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& list) {
  std::vector<std::string> out;
  for (const auto& [name, t] : list) out.push_back(name);
  return out;
}

// features: BN1d(3), ReLU, Sequential(BN1d(3), Dropout); head: ScaleModule(3) (+ inner)
std::shared_ptr<nn::Sequential> make_net() {
  return std::make_shared<nn::Sequential>(
      nn::BatchNorm1d({.features = 3}), nn::ReLU(),
      nn::Sequential(nn::BatchNorm1d({.features = 3, .affine = false}), nn::Dropout({.p = 0.25f})),
      std::make_shared<ScaleModule>(3));
}

}  // namespace

TEST_CASE("Module: named parameters and buffers use dotted paths in registration order", "[nn]") {
  auto net = make_net();
  CHECK(names_of(net->named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "3.scale", "3.inner.scale"});
  CHECK(names_of(net->named_buffers()) ==
        std::vector<std::string>{"0.running_mean", "0.running_var", "2.0.running_mean",
                                 "2.0.running_var", "3.calls", "3.inner.calls"});
  CHECK(net->parameters().size() == 4);
  CHECK(net->num_parameters() == 3 + 3 + 3 + 3);
  for (const Tensor& p : net->parameters()) CHECK(p.requires_grad());
  std::vector<std::string> modules;
  for (const auto& [path, m] : net->named_modules()) modules.push_back(path + ":" + m->type_name());
  CHECK(modules == std::vector<std::string>{"0:BatchNorm1d", "1:ReLU", "2:Sequential",
                                            "2.0:BatchNorm1d", "2.1:Dropout", "3:ScaleModule",
                                            "3.inner:ScaleModule"});
  CHECK(net->size() == 4);
  CHECK((*net)[3]->type_name() == "ScaleModule");
  CHECK_THROWS_WITH((*net)[4], Catch::Contains("index 4 is out of range for 4 modules"));
}

TEST_CASE("Module: registration rejects duplicate and dotted names", "[nn]") {
  ScaleModule m(2);
  CHECK_THROWS_WITH(m.add_param("scale"), Catch::Contains("name 'scale' is already registered"));
  CHECK_THROWS_WITH(m.add_param("inner"), Catch::Contains("name 'inner' is already registered"));
  CHECK_THROWS_WITH(m.add_param("a.b"), Catch::Contains("name 'a.b' must be non-empty and contain no '.'"));
  CHECK_THROWS_WITH(m.add_param(""), Catch::Contains("must be non-empty"));
}

TEST_CASE("Module: replace_module swaps a child in place, in the parent's mode", "[nn]") {
  auto net = make_net();
  net->eval();
  auto scale = std::make_shared<ScaleModule>(3);
  CHECK(scale->is_training());
  net->replace_module("1", scale);
  CHECK((*net)[1] == scale);
  CHECK_FALSE(scale->is_training());
  CHECK(names_of(net->named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.scale", "1.inner.scale", "3.scale", "3.inner.scale"});
  Tensor x = from_vector({1.f, -2.f, 3.f, 4.f, 5.f, -6.f}, {2, 3});
  (*net)(x);
  CHECK(scale->state_dict().at("calls").data<int32_t>()[0] == 1);  // Sequential runs the new child
  CHECK_THROWS_WITH(net->replace_module("7", scale), Catch::Contains("no child module named '7'"));
  CHECK_THROWS_WITH(net->replace_module("1", nullptr), Catch::Contains("is null"));
}

TEST_CASE("Module: train/eval apply recursively", "[nn]") {
  auto net = make_net();
  CHECK(net->is_training());
  net->eval();
  for (const auto& [path, m] : net->named_modules()) CHECK_FALSE(m->is_training());
  net->train();
  for (const auto& [path, m] : net->named_modules()) CHECK(m->is_training());
  // A module registered into an eval-mode parent takes the parent's mode.
  nn::Sequential seq;
  seq.eval();
  auto d = seq.add(nn::Dropout());
  CHECK_FALSE(d->is_training());
}

TEST_CASE("Module: zero_grad drops every parameter's gradient", "[nn]") {
  ScaleModule m(3);
  Tensor x = from_vector<float>({1, -2, 3}, {3});
  sum(m(x)).backward();
  for (const Tensor& p : m.parameters()) REQUIRE(p.grad().defined());
  // d sum(x*s1 + x*s2) / d s1 = x
  CHECK(m.parameters()[0].grad().to_vector() == std::vector<float>{1, -2, 3});
  m.zero_grad();
  for (const Tensor& p : m.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("Module: state_dict round trip copies values into the target's own tensors", "[nn]") {
  auto a = make_net();
  auto b = make_net();
  {
    NoGradGuard no_grad;
    int k = 1;
    for (auto& [name, t] : a->state_dict()) {
      if (t.dtype() == DType::Float32)
        t.copy_(add(mul(arange(0.f, float(t.numel())), 0.5f), float(k++)));
      else
        t.fill_(float(7 + k++));
    }
  }
  Tensor b_weight = b->named_parameters()[0].second;  // a handle taken before loading
  b->load_state_dict(a->state_dict());
  nn::StateDict sa = a->state_dict(), sb = b->state_dict();
  REQUIRE(sa.size() == sb.size());
  for (const auto& [name, t] : sa) {
    INFO(name);
    CHECK(sb.at(name).shape() == t.shape());
    if (t.dtype() == DType::Float32)
      CHECK(sb.at(name).to_vector() == t.to_vector());
    else
      CHECK(sb.at(name).to_vector<int32_t>() == t.to_vector<int32_t>());
  }
  // The handle still refers to the module's weight, which now holds a's values.
  CHECK(b_weight.to_vector() == sa.at("0.weight").to_vector());
  CHECK(b_weight.requires_grad());
  // state_dict shares storage with the module.
  nn::StateDict live = b->state_dict();
  live.at("3.scale").fill_(-1.f);
  CHECK(std::dynamic_pointer_cast<ScaleModule>((*b)[3])->scale().to_vector() ==
        std::vector<float>{-1, -1, -1});
}

TEST_CASE("Module: load_state_dict is strict and names the offending tensor", "[nn]") {
  auto net = make_net();
  nn::StateDict good = make_net()->state_dict();
  const std::vector<float> before = net->state_dict().at("0.weight").to_vector();

  nn::StateDict missing = good;
  missing.erase("2.0.running_var");
  CHECK_THROWS_WITH(net->load_state_dict(missing),
                    Catch::Contains("load_state_dict") && Catch::Contains("missing tensor '2.0.running_var'"));

  nn::StateDict unexpected = good;
  unexpected["3.bias"] = zeros({3});
  CHECK_THROWS_WITH(net->load_state_dict(unexpected), Catch::Contains("unexpected tensor '3.bias'"));

  nn::StateDict wrong_shape = good;
  wrong_shape["0.weight"] = ones({4});
  wrong_shape["0.weight"].fill_(9.f);
  CHECK_THROWS_WITH(net->load_state_dict(wrong_shape),
                    Catch::Contains("tensor '0.weight' has shape [4] but the destination expects [3]"));

  nn::StateDict wrong_dtype = good;
  wrong_dtype["3.calls"] = zeros({1});
  CHECK_THROWS_WITH(net->load_state_dict(wrong_dtype),
                    Catch::Contains("tensor '3.calls' has dtype float32 but the destination expects int32"));

  // Nothing was changed by the failed loads (the shape error came after valid entries).
  CHECK(net->state_dict().at("0.weight").to_vector() == before);
}

TEST_CASE("Module: repr shows the tree with options", "[nn]") {
  auto net = std::make_shared<nn::Sequential>(nn::LeakyReLU({.negative_slope = 0.2f}),
                                              nn::Sequential(nn::Flatten(), nn::Tanh()));
  CHECK(net->repr() ==
        "Sequential(\n"
        "  (0): LeakyReLU(negative_slope=0.2)\n"
        "  (1): Sequential(\n"
        "    (0): Flatten(start=1, end=-1)\n"
        "    (1): Tanh()\n"
        "  )\n"
        ")");
}

TEST_CASE("Module: summary lists each layer's output shape and parameters, leaves state alone", "[nn]") {
  auto net = std::make_shared<nn::Sequential>(
      nn::BatchNorm2d({.features = 2}), nn::ReLU(), nn::Flatten({.start = 2}), nn::Flatten(),
      std::make_shared<ScaleModule>(32));
  std::ostringstream os;
  net->summary({5, 2, 4, 4}, os);
  const std::string s = os.str();
  INFO(s);
  CHECK_THAT(s, Catch::Contains("0 (BatchNorm2d)") && Catch::Contains("[5, 2, 4, 4]"));
  CHECK_THAT(s, Catch::Contains("2 (Flatten)") && Catch::Contains("[5, 2, 16]"));
  CHECK_THAT(s, Catch::Contains("  4.inner (ScaleModule)"));
  CHECK_THAT(s, Catch::Contains("Output: [5, 32]"));
  CHECK_THAT(s, Catch::Contains("Total parameters: 68"));
  // Run in eval mode: the running statistics were not updated and the mode is restored.
  CHECK(net->state_dict().at("0.running_mean").to_vector() == std::vector<float>{0, 0});
  CHECK(net->is_training());
  CHECK((*net)[0]->is_training());
}
