// Mixed-precision search (quant/search/mixed_precision.h): the exact Pareto search against brute
// force and on a hand-made table where the greedy rule is known to miss the optimum; the budget
// arithmetic; and a mixed-bit integer model that round-trips its file and matches its fake-quant
// model.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/autograd.h"
#include "core/error.h"
#include "core/random.h"
#include "nn/nn.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/intmodel/convert.h"
#include "quant/intmodel/int_model_file.h"
#include "quant/search/mixed_precision.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

// The least error of any one-choice-per-layer allocation with cost <= budget (inf: none).
double brute_force(const std::vector<LayerChoices>& layers, double budget) {
  double best = std::numeric_limits<double>::infinity();
  std::vector<size_t> pick(layers.size(), 0);
  while (true) {
    double cost = 0, error = 0;
    for (size_t l = 0; l < layers.size(); ++l) {
      cost += layers[l].choices[pick[l]].cost;
      error += layers[l].choices[pick[l]].error;
    }
    if (cost <= budget) best = std::min(best, error);
    size_t l = 0;
    while (l < layers.size() && ++pick[l] == layers[l].choices.size()) pick[l++] = 0;
    if (l == layers.size()) return best;
  }
}

}  // namespace

TEST_CASE("pareto_front: picks the known optimum where greedy does not", "[quant][mixed]") {
  // Layer a: error flat below 4 bits; layer b: error grows steadily. Budget 6.
  //   greedy (least error per unit saved): b 8->4 (0.25/unit), b 4->2 (0.25), a 8->4 (0.5):
  //   a4 + b2 = cost 6, error 3.5.   Optimum: a2 + b4 = cost 6, error 3.01.
  const std::vector<LayerChoices> layers{
      {"a", {{8, 8, 0.0}, {4, 4, 2.0}, {2, 2, 2.01}}},
      {"b", {{8, 8, 0.0}, {4, 4, 1.0}, {2, 2, 1.5}}},
  };
  const auto front = pareto_front(layers);
  const Allocation& best = best_within(front, 6);
  CHECK(best.bits == std::vector<int>{2, 4});
  CHECK(best.cost == 6);
  CHECK(best.error == Approx(3.01));
  CHECK(best_within(front, 16).bits == std::vector<int>{8, 8});
  CHECK(best_within(front, 4).bits == std::vector<int>{2, 2});
  CHECK_THROWS_WITH(best_within(front, 3), Contains("least cost reachable is 4"));
  CHECK_THROWS_WITH(pareto_front({{"c", {}}}), Contains("layer 'c' has no bit-width choice"));
}

TEST_CASE("pareto_front: equals brute force on random tables, costs up and errors down", "[quant][mixed]") {
  Generator gen(173);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<LayerChoices> layers;
    const int n = 2 + trial % 3;
    for (int l = 0; l < n; ++l) {
      LayerChoices lc{cat("l", l), {}};
      const double weights = 1 + std::floor(gen.uniform() * 50);
      for (int b = 2; b <= 8; b += 2) lc.choices.push_back({b, weights * b, gen.uniform() * 4.0 / b});
      layers.push_back(lc);
    }
    const auto front = pareto_front(layers);
    for (size_t i = 1; i < front.size(); ++i) {
      CHECK(front[i].cost > front[i - 1].cost);
      CHECK(front[i].error < front[i - 1].error);
    }
    for (const Allocation& a : front) {
      double cost = 0, error = 0;  // the allocation's bits add up to its cost and error
      for (size_t l = 0; l < layers.size(); ++l)
        for (const BitChoice& c : layers[l].choices)
          if (c.bits == a.bits[l]) {
            cost += c.cost;
            error += c.error;
          }
      CHECK(cost == Approx(a.cost));
      CHECK(error == Approx(a.error));
    }
    for (double budget : {front.front().cost, front.back().cost, 0.5 * (front.front().cost + front.back().cost)})
      CHECK(best_within(front, budget).error == Approx(brute_force(layers, budget)));
  }
}

TEST_CASE("budget arithmetic: average bits and the file's packed bytes", "[quant][mixed]") {
  const std::vector<QuantizableLayer> layers{{"0", 100, 4}, {"1", 300, 10}};
  CHECK(average_weight_bits(layers, {8, 2}) == Approx((800.0 + 600.0) / 400.0));
  CHECK(layer_bytes(layers[0], 8) == 100 + 4 * 8);
  CHECK(layer_bytes(layers[0], 4) == 50 + 4 * 8);
  CHECK(layer_bytes(layers[0], 3) == layer_bytes(layers[0], 4));  // 3-bit codes take 4-bit fields
  CHECK(layer_bytes(layers[1], 2) == 75 + 10 * 8);
  CHECK(model_bytes(layers, {3, 2}) == 82 + 155);
  CHECK_THROWS_WITH(model_bytes(layers, {8}), Contains("1 bit widths for 2 layers"));
}

TEST_CASE("mixed bits: the integer model saves, loads and matches its fake-quant model", "[quant][mixed]") {
  Generator gen(174);
  nn::Sequential model(nn::Conv2d({.in = 2, .out = 4, .kernel = 3, .padding = 1}, gen), nn::ReLU(),
                       nn::Conv2d({.in = 4, .out = 6, .kernel = 3, .padding = 1}, gen), nn::ReLU(),
                       nn::MaxPool2d({.kernel = 2}), nn::Flatten(), nn::Linear({.in = 96, .out = 5}, gen));
  const auto layers = quantizable_layers(model);
  REQUIRE(layers.size() == 3);
  const std::vector<int> bits{3, 2, 5};
  auto fq = prepare(model, mixed_qconfig(layers, bits, 8, ObserverKind::MinMax));
  {
    NoGradGuard no_grad;
    (*fq)(randn({32, 2, 8, 8}, gen));
  }
  set_observe(*fq, false);
  set_fake_quant(*fq, true);
  auto im = convert(*fq);
  const std::string path =
      (std::filesystem::temp_directory_path() / "qgrad_test_mixed_precision.safetensors").string();
  save_int_model(path, *im);
  auto loaded = load_int_model(path);
  std::filesystem::remove(path);

  std::vector<int> loaded_bits;
  for (const auto& layer : loaded->layers)
    if (const IntGemm* g = layer->gemm()) loaded_bits.push_back(g->params.weight_bits);
  CHECK(loaded_bits == bits);
  NoGradGuard no_grad;
  const Tensor x = randn({16, 2, 8, 8}, gen);
  const auto a = (*fq)(x).to_vector(), b = (*im)(x).to_vector(), c = (*loaded)(x).to_vector();
  CHECK(b == c);  // the file holds the model bit for bit
  const double step = im->output_qparams.scale[0];
  int64_t within = 0;
  for (size_t i = 0; i < a.size(); ++i) within += std::fabs(a[i] - b[i]) <= step * 1.001;
  CHECK(static_cast<double>(within) >= 0.95 * static_cast<double>(a.size()));
}
