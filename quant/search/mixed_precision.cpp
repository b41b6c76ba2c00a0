#include "quant/search/mixed_precision.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "quant/math/packing.h"

namespace qgrad::quant {

std::vector<Allocation> pareto_front(const std::vector<LayerChoices>& layers) {
  check(!layers.empty(), "pareto_front", "no layers");
  std::vector<Allocation> front{Allocation{}};  // the empty allocation: cost 0, error 0
  for (const LayerChoices& layer : layers) {
    check(!layer.choices.empty(), "pareto_front", "layer '", layer.layer, "' has no bit-width choice");
    std::vector<Allocation> next;
    next.reserve(front.size() * layer.choices.size());
    for (const Allocation& a : front)
      for (const BitChoice& c : layer.choices) {
        Allocation b = a;
        b.bits.push_back(c.bits);
        b.cost += c.cost;
        b.error += c.error;
        next.push_back(std::move(b));
      }
    // Sorted by cost, then error: an allocation survives only when it has less error than every
    // cheaper (or equally cheap) one before it — the others are dominated.
    std::sort(next.begin(), next.end(), [](const Allocation& x, const Allocation& y) {
      return x.cost != y.cost ? x.cost < y.cost : x.error < y.error;
    });
    front.clear();
    double least = std::numeric_limits<double>::infinity();
    for (Allocation& a : next)
      if (a.error < least) {
        least = a.error;
        front.push_back(std::move(a));
      }
  }
  return front;
}

const Allocation& best_within(const std::vector<Allocation>& front, double budget) {
  check(!front.empty(), "best_within", "empty front");
  // Errors fall as costs rise along the front: the last one that fits is the best.
  const Allocation* best = nullptr;
  for (const Allocation& a : front)
    if (a.cost <= budget) best = &a;
  check(best != nullptr, "best_within", "no allocation fits the budget ", budget, "; the least cost reachable is ",
        front.front().cost);
  return *best;
}

int64_t layer_bytes(const QuantizableLayer& layer, int bits) {
  return packed_bytes(layer.weights, storage_bits(bits)) + layer.channels * (4 + 4);
}

std::vector<LayerChoices> weight_choices(const SensitivityTable& table, BudgetUnit unit) {
  std::vector<LayerChoices> out;
  for (const QuantizableLayer& l : table.layers) {
    LayerChoices lc{l.name, {}};
    for (int b : table.bits) {
      const double cost = unit == BudgetUnit::WeightBits ? static_cast<double>(l.weights) * b
                                                         : static_cast<double>(layer_bytes(l, b));
      lc.choices.push_back({b, cost, table.at(l.name, SensitivityKind::Weight, b).kl});
    }
    out.push_back(std::move(lc));
  }
  return out;
}

namespace {
void check_sizes(const std::vector<QuantizableLayer>& layers, const std::vector<int>& bits, const char* op) {
  check(!layers.empty() && layers.size() == bits.size(), op, bits.size(), " bit widths for ", layers.size(), " layers");
}
}  // namespace

double average_weight_bits(const std::vector<QuantizableLayer>& layers, const std::vector<int>& bits) {
  check_sizes(layers, bits, "average_weight_bits");
  double sum = 0, count = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    sum += static_cast<double>(layers[i].weights) * bits[i];
    count += static_cast<double>(layers[i].weights);
  }
  return sum / count;
}

int64_t model_bytes(const std::vector<QuantizableLayer>& layers, const std::vector<int>& bits) {
  check_sizes(layers, bits, "model_bytes");
  int64_t sum = 0;
  for (size_t i = 0; i < layers.size(); ++i) sum += layer_bytes(layers[i], bits[i]);
  return sum;
}

QConfig mixed_qconfig(const std::vector<QuantizableLayer>& layers, const std::vector<int>& bits, int act_bits,
                      ObserverKind observer) {
  check_sizes(layers, bits, "mixed_qconfig");
  QConfig c;
  c.default_config = layer_qconfig(8, act_bits, observer);
  for (size_t i = 0; i < layers.size(); ++i) c.rules.push_back(exact_rule(layers[i].name, layer_qconfig(bits[i], act_bits, observer)));
  return c;
}

}  // namespace qgrad::quant
