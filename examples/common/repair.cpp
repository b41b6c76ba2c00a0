#include "examples/common/repair.h"

#include <chrono>
#include <cstdio>

#include "datasets/data_loader.h"
#include "examples/common/quantization.h"
#include "examples/common/task.h"

namespace qgrad::examples {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void add_repair_flags(CLI::App& app, RepairFlags& flags) {
  app.add_flag("--equalize", flags.equalize,
               "cross-layer equalization before calibration: rescale channels between consecutive layers "
               "(through ReLU) so their weight ranges match; exact in float");
  app.add_flag("--adaround", flags.adaround,
               "learned rounding (AdaRound): per layer, choose each weight's up/down rounding to reconstruct the "
               "float layer's output on the calibration images");
  app.add_option("--adaround-iters", flags.adaround_iters, "AdaRound: Adam steps per layer")
      ->check(integer_in(1, 1000000));
  app.add_flag("--bias-correction", flags.bias_correction,
               "bias correction: subtract the mean output shift weight quantization causes (from the calibration "
               "images) from each layer's bias");
}

std::string repair_name(const RepairFlags& flags) {
  std::string name;
  const auto add = [&](bool on, const char* what) {
    if (on) name += (name.empty() ? "" : "+") + std::string(what);
  };
  add(flags.equalize, "cle");
  add(flags.adaround, "adaround");
  add(flags.bias_correction, "bc");
  return name.empty() ? "rtn" : name;
}

void equalize_if_asked(const RepairFlags& flags, nn::Module& prepared, RepairReport& report) {
  if (!flags.equalize) return;
  const auto start = std::chrono::steady_clock::now();
  report.equalization = quant::equalize(prepared);
  report.seconds += seconds_since(start);
}

void repair_calibrated(const RepairFlags& flags, nn::Module& prepared, const data::Dataset& train_set,
                       const quant::Sampling& sampling, RepairReport& report) {
  if (!flags.adaround && !flags.bias_correction) return;
  const auto start = std::chrono::steady_clock::now();
  const Device device = prepared.device();
  prepared.to(Device::CPU);
  const data::Dataset subset = sample_subset(train_set, sampling);
  data::DataLoader loader(subset, loader_options(train_set, 250));
  std::vector<Tensor> batches;
  for (size_t b = 0; b < loader.num_batches(); ++b) batches.push_back(loader.batch(b).images);
  const quant::FloatWeights float_weights = quant::float_weights(prepared);  // before AdaRound rounds them
  if (flags.adaround)
    report.adaround = quant::adaround(prepared, batches, {.iterations = flags.adaround_iters});
  if (flags.bias_correction) report.bias = quant::correct_bias(prepared, batches, float_weights);
  prepared.to(device);
  report.seconds += seconds_since(start);
}

void print_repair(const RepairFlags& flags, const RepairReport& report) {
  if (flags.equalize)
    std::printf("cross-layer equalization: %zu layer pairs, %d sweeps\n", report.equalization.pairs.size(),
                report.equalization.sweeps);
  for (const quant::AdaRoundResult& r : report.adaround)
    std::printf("adaround layer %-6s %6lld of %7lld codes changed, output MSE %.3g -> %.3g (round-to-nearest -> "
                "learned, calibration images)\n",
                r.layer.c_str(), static_cast<long long>(r.changed), static_cast<long long>(r.weights), r.rtn_error,
                r.error);
  if (flags.bias_correction) {
    double largest = 0;
    for (const quant::BiasCorrection& c : report.bias) largest = std::max(largest, c.max_abs());
    std::printf("bias correction: %zu layers, largest change %.4g\n", report.bias.size(), largest);
  }
  if (flags.equalize || flags.adaround || flags.bias_correction)
    std::printf("repair (%s) took %.1f s\n", repair_name(flags).c_str(), report.seconds);
}

nlohmann::json repair_json(const RepairFlags& flags, const RepairReport& report) {
  nlohmann::json j = {{"repair", repair_name(flags)}, {"repair_seconds", report.seconds}};
  if (flags.equalize) {
    nlohmann::json pairs = nlohmann::json::array();
    for (const auto& p : report.equalization.pairs) pairs.push_back({p.first, p.second});
    j["equalization"] = {{"pairs", pairs}, {"sweeps", report.equalization.sweeps}};
  }
  if (flags.adaround) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& r : report.adaround)
      layers.push_back({{"layer", r.layer}, {"weights", r.weights}, {"changed", r.changed},
                        {"rtn_output_mse", r.rtn_error}, {"output_mse", r.error}});
    j["adaround"] = {{"iterations", flags.adaround_iters}, {"layers", layers}};
  }
  if (flags.bias_correction) {
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& c : report.bias) layers.push_back({{"layer", c.layer}, {"correction", c.correction}});
    j["bias_correction"] = layers;
  }
  return j;
}

}  // namespace qgrad::examples
