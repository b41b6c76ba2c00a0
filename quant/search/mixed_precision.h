// Mixed-precision search: each layer's weight bit width chosen from the measured sensitivity
// table (quant/search/sensitivity.h) so that the model fits a size budget with the least error.
//
// The model. Layer l at b bits costs c_l(b) (its weight bits n_l * b, or its bytes in the
// integer model's file) and adds error e_l(b) = the KL divergence measured with l alone at b
// bits. The assumption that makes the problem small: errors ADD UP across layers,
//   E(b_1..b_L) ~= sum_l e_l(b_l),
// which holds to first order when each layer's quantization noise is small and independent of
// the others' (the KLs are second-order in the logit perturbation, and independent perturbations'
// second moments add). It is checked, not trusted: the program measures every chosen model.
// Then: minimize sum_l e_l(b_l) subject to sum_l c_l(b_l) <= budget, one choice per layer —
// the multiple-choice knapsack.
//
// Why exact, not greedy. The greedy rule (start at 8 bits, repeatedly lower the layer whose next
// step saves the most bytes per unit of added error) is optimal only when every layer's error
// curve is convex in its cost (each further step down costs more error per byte than the last).
// Measured curves need not be: the file stores 3-bit codes in 4-bit fields (quant/math/packing.h),
// so in bytes 4 -> 3 bits saves nothing and 3 -> 2 saves a lot, and a layer whose error is flat
// down to 3 bits and jumps at 2 breaks the greedy order. The exact solution is cheap: keep, layer
// by layer, the Pareto front of partial allocations — the (cost, error) pairs no other pair beats
// in both — by extending each with each choice of the next layer and dropping the dominated
// ones. It is exact (a dominated partial allocation can never become part of an optimum, since
// the rest of the sum is the same for both), holds at most one allocation per distinct cost, and
// gives the whole accuracy/size front at once: the best model under every budget.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "quant/fakequant/qconfig.h"
#include "quant/search/sensitivity.h"

namespace qgrad::quant {

struct BitChoice {
  int bits;
  double cost;   // in the budget's unit
  double error;  // added to the model's error
};

struct LayerChoices {
  std::string layer;
  std::vector<BitChoice> choices;  // at least one
};

struct Allocation {
  std::vector<int> bits;  // one per layer, in the order of the LayerChoices
  double cost = 0, error = 0;
};

// Every allocation on the Pareto front, by increasing cost (and so decreasing error): for each
// distinct reachable total cost, the least total error. Fails on a layer with no choice.
std::vector<Allocation> pareto_front(const std::vector<LayerChoices>& layers);

// The front's least-error allocation with cost <= budget; fails saying the least cost reachable
// when none fits.
const Allocation& best_within(const std::vector<Allocation>& front, double budget);

// What a budget counts.
enum class BudgetUnit {
  WeightBits,  // sum_l n_l * b_l: the average weight bit width times the weights' count
  Bytes,       // the integer model's weight storage, layer_bytes below
};

// A layer's bytes in the integer model file at b bits: its codes packed at storage_bits(b)
// (2, 4 or 8 bits each), one float32 scale and one int32 bias per output channel.
int64_t layer_bytes(const QuantizableLayer& layer, int bits);

// The layers' weight choices at the table's bit widths, error = the weight KL, cost in unit.
std::vector<LayerChoices> weight_choices(const SensitivityTable& table, BudgetUnit unit);

// sum_l n_l b_l / sum_l n_l.
double average_weight_bits(const std::vector<QuantizableLayer>& layers, const std::vector<int>& bits);
int64_t model_bytes(const std::vector<QuantizableLayer>& layers, const std::vector<int>& bits);

// The QConfig quantizing every layer, weights (symmetric, per channel) at its allocated bits,
// activations at act_bits observed by observer.
QConfig mixed_qconfig(const std::vector<QuantizableLayer>& layers, const std::vector<int>& bits, int act_bits,
                      ObserverKind observer);

}  // namespace qgrad::quant
