// mixed_precision: choose each layer's weight bit width by measurement.
//   1. sensitivity: quantize one layer at a time (weights, then its output activation) at 2..8
//      bits, the rest float; KL and MSE of the logits against the float model's on the
//      calibration images, accuracy on held-out test images (quant/search/sensitivity.h);
//   2. search: the exact Pareto front of (weight bits, summed KL) over per-layer choices
//      (quant/search/mixed_precision.h); the best allocation under --budget-bits (average weight
//      bits) or --budget-bytes (the integer model's weight storage);
//   3. measure: each allocation on the front at the --front-bits budgets, and uniform 8/4/2-bit
//      weights (first and last layer at 8 bits below 8, the default qconfig), is prepared,
//      calibrated, converted to the integer model and evaluated on the whole test set;
//      activations at --act-bits everywhere;
//   4. the chosen model: saved (--save), loaded back, and checked against its fake-quant model.
//   build/examples/mixed_precision --model lenet5.safetensors --budget-bits 3 --save lenet5_mixed.safetensors
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/autograd.h"
#include "core/error.h"
#include "examples/common/cli.h"
#include "examples/common/quantization.h"
#include "examples/common/task.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/intmodel/convert.h"
#include "quant/intmodel/int_model_file.h"
#include "quant/search/mixed_precision.h"
#include "quant/search/sensitivity.h"

using namespace qgrad;

namespace {

// One measured model: its per-layer weight bits and what it reached.
struct Measured {
  std::string label;
  std::vector<int> bits;
  double average_bits = 0, predicted_kl = NAN;  // predicted: the sum of the per-layer weight KLs
  double measured_kl = 0;  // of the whole model (activations quantized too), on the calibration images
  int64_t weight_bytes = 0, file_bytes = 0;
  double fake_quant_accuracy = 0, int_accuracy = 0;
  examples::Agreement agreement;
  std::shared_ptr<quant::IntModel> int_model;
  std::shared_ptr<nn::Sequential> fake_quant;
};

int64_t saved_size(const quant::IntModel& model, const nn::Metadata& meta, const std::string& path) {
  quant::save_int_model(path, model, meta);
  return examples::file_bytes(path);
}

std::string temp_path(const std::string& tag) {
  return (std::filesystem::temp_directory_path() /
          ("qgrad_mixed_" + tag + "_" + std::to_string(::getpid()) + ".safetensors")).string();
}

nlohmann::json to_json(const Measured& m, const std::vector<quant::QuantizableLayer>& layers) {
  nlohmann::json bits = nlohmann::json::object();
  for (size_t i = 0; i < layers.size(); ++i) bits[layers[i].name] = m.bits[i];
  return {{"label", m.label}, {"weight_bits", bits}, {"average_weight_bits", m.average_bits},
          {"predicted_kl", std::isfinite(m.predicted_kl) ? nlohmann::json(m.predicted_kl) : nlohmann::json()},
          {"measured_kl", m.measured_kl},
          {"weight_bytes", m.weight_bytes}, {"file_bytes", m.file_bytes},
          {"fake_quant_test_accuracy", m.fake_quant_accuracy}, {"int_test_accuracy", m.int_accuracy},
          {"int_vs_fake_quant_prediction_match", m.agreement.prediction_match},
          {"int_vs_fake_quant_max_logit_diff", m.agreement.max_logit_diff}};
}

std::string bits_str(const std::vector<int>& bits) {
  std::string s;
  for (int b : bits) s += (s.empty() ? "" : "/") + std::to_string(b);
  return s;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"mixed_precision: per-layer sensitivity to quantization, then the weight bit width of each layer "
               "chosen under a size budget (exact Pareto search), measured against uniform 8/4/2 bits"};
  std::string model_path, data_folder, observer = "minmax", metrics_json, save;
  double budget_bits = 0;
  int64_t budget_bytes = 0, calib_samples = 500, held_out = 1000, limit_test = 0;
  int act_bits = 8;
  std::vector<double> front_bits{2, 2.5, 3, 3.5, 4, 5, 6};
  examples::RuntimeFlags runtime;
  const int64_t kMaxCount = std::numeric_limits<int64_t>::max();
  app.add_option("--model", model_path, "float checkpoint written by a training program (.safetensors)")
      ->required()->check(examples::existing_file());
  app.add_option("--data", data_folder, "folder holding the data set's files (default: data/<dataset>)");
  auto* bits_opt = app.add_option("--budget-bits", budget_bits, "budget: average weight bits over the quantized "
                                  "layers (default 3 when no budget is given)")->check(CLI::Range(2.0, 8.0));
  app.add_option("--budget-bytes", budget_bytes, "budget: bytes of the layers' weight storage in the integer model "
                 "file (packed codes + per-channel scale + int32 bias)")
      ->check(examples::integer_in(1, kMaxCount))->excludes(bits_opt);
  app.add_option("--front-bits", front_bits, "average-weight-bit budgets measured for the accuracy/size front")
      ->delimiter(',')->check(CLI::Range(2.0, 8.0));
  app.add_option("--act-bits", act_bits, "activation bit width of every quantized layer")
      ->check(examples::integer_in(2, 8));
  app.add_option("--observer", observer, "activation observer")
      ->check(CLI::IsMember({"minmax", "ema", "percentile", "mse"}));
  app.add_option("--calib-samples", calib_samples, "training images (uniformly spaced) that calibrate activation "
                 "ranges and on which the sensitivity KL is measured")->check(examples::integer_in(1, kMaxCount));
  app.add_option("--held-out", held_out, "test images (evenly spaced) for the sensitivity table's accuracy")
      ->check(examples::integer_in(1, kMaxCount));
  app.add_option("--limit-test", limit_test, "evaluate the measured models on this many test images, evenly spaced "
                 "(0: all)")->check(examples::integer_in(0, kMaxCount));
  app.add_option("--metrics-json", metrics_json, "write the sensitivity table, the front and the chosen model here")
      ->check(examples::writable_file());
  app.add_option("--save", save, "write the chosen integer model here (.safetensors)")->check(examples::writable_file());
  examples::add_runtime_flags(app, runtime);
  examples::parse(app, argc, argv);
  const int threads = examples::apply(runtime);
  examples::require_cpu(runtime, "mixed_precision");
  const bool by_bytes = budget_bytes > 0;
  if (!by_bytes && budget_bits == 0) budget_bits = 3;
  const quant::ObserverKind observer_kind = quant::parse_observer_kind(observer);

  examples::FloatModel f = examples::load_float_model(model_path);
  if (by_bytes) {  // refused before the minutes of measuring: every layer at 2 bits is the least
    const auto layers = quant::quantizable_layers(*f.model);
    const int64_t least = quant::model_bytes(layers, std::vector<int>(layers.size(), 2));
    check(budget_bytes >= least, "mixed_precision", "--budget-bytes ", budget_bytes, " is below ", least,
          " bytes, the weight storage of ", model_path, " with every layer at 2 bits");
  }
  const std::string dir = examples::data_dir(data_folder, f.dataset);
  data::Dataset train_set = examples::load_dataset(f.dataset, dir, data::Split::Train);
  data::Dataset test_set = examples::load_dataset(f.dataset, dir, data::Split::Test);
  // The sensitivity table's held-out images are taken from the whole test set, before --limit-test.
  const data::Dataset held_set = test_set.evenly_spaced(static_cast<size_t>(held_out));
  if (limit_test > 0) test_set = test_set.evenly_spaced(static_cast<size_t>(limit_test));
  data::DataLoader test_loader(test_set, examples::loader_options(test_set, 500));
  const auto classes = static_cast<int64_t>(test_set.classes().size());
  const quant::Sampling sampling{.kind = quant::Sampling::Kind::Uniform, .count = calib_samples};
  // The calibration images and the held-out images, each as one tensor.
  const data::Dataset calib_set = examples::sample_subset(train_set, sampling);
  const data::Batch calib = data::DataLoader(calib_set, examples::loader_options(train_set, calib_set.size())).batch(0);
  const data::Batch held = data::DataLoader(held_set, examples::loader_options(test_set, held_set.size())).batch(0);
  std::printf("%s, %d thread(s): %zu calibration images, %zu held-out test images, activations at %d bits\n",
              f.arch.c_str(), threads, calib_set.size(), held_set.size(), act_bits);

  // 1. Sensitivity.
  auto start = std::chrono::steady_clock::now();
  const quant::SensitivityTable table =
      quant::measure_sensitivity(*f.model, calib.images, held.images, held.labels, {.observer = observer_kind});
  const double sensitivity_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("\n%s(%zu layers x %zu bit widths in %.1f s)\n", quant::format_sensitivity(table).c_str(),
              table.layers.size(), table.bits.size(), sensitivity_s);
  const auto& layers = table.layers;
  int64_t total_weights = 0;
  for (const auto& l : layers) total_weights += l.weights;

  // 3. Every model below: prepare with its config, calibrate, freeze, fake-quant evaluate,
  // convert, integer evaluate, compare, and measure the file.
  const examples::Evaluation fev = examples::evaluate(*f.model, test_loader, classes);
  const std::string tmp = temp_path("size");
  Tensor float_logits;
  {
    NoGradGuard no_grad;
    f.model->eval();
    float_logits = (*f.model)(calib.images);
  }
  auto measure = [&](const std::string& label, const quant::QConfig& config, double predicted_kl) {
    Measured m;
    m.label = label;
    m.predicted_kl = predicted_kl;
    for (const auto& l : layers) m.bits.push_back(config.for_module(l.name).weight.bits);
    m.average_bits = quant::average_weight_bits(layers, m.bits);
    m.weight_bytes = quant::model_bytes(layers, m.bits);
    m.fake_quant = quant::prepare(*f.model, config);
    examples::calibrate(*m.fake_quant, train_set, sampling);
    quant::set_observe(*m.fake_quant, false);
    quant::set_fake_quant(*m.fake_quant, true);
    m.fake_quant_accuracy = examples::evaluate(*m.fake_quant, test_loader, classes).accuracy;
    {
      NoGradGuard no_grad;
      m.fake_quant->eval();
      m.measured_kl = quant::logit_error(float_logits, (*m.fake_quant)(calib.images)).kl;
    }
    m.int_model = quant::convert(*m.fake_quant);
    m.int_model->input_spec = examples::input_spec(train_set);
    m.int_accuracy = examples::evaluate(*m.int_model, test_loader, classes).accuracy;
    m.agreement = examples::compare_models(*m.fake_quant, *m.int_model, test_loader);
    m.file_bytes = saved_size(*m.int_model, {}, tmp);
    char kl[32] = "-";
    if (std::isfinite(predicted_kl)) std::snprintf(kl, sizeof kl, "%.2e", predicted_kl);
    std::printf("%-16s %-18s %5.2f  %8lld  %8lld  %10s  %10.2e  %7.2f%%  %7.2f%%  %+6.2f  %7.2f%%\n", label.c_str(),
                bits_str(m.bits).c_str(), m.average_bits, static_cast<long long>(m.weight_bytes),
                static_cast<long long>(m.file_bytes), kl, m.measured_kl,
                100.0 * m.fake_quant_accuracy, 100.0 * m.int_accuracy, 100.0 * (m.int_accuracy - fev.accuracy),
                100.0 * m.agreement.prediction_match);
    std::fflush(stdout);
    return m;
  };

  // 2. Search: the front in weight bits (and in bytes for a byte budget).
  const auto front = quant::pareto_front(quant::weight_choices(table, quant::BudgetUnit::WeightBits));
  std::printf("\nfloat test accuracy %.2f%% (%zu test images); %zu allocations on the Pareto front of "
              "(weight bits, summed KL)\n", 100.0 * fev.accuracy, test_set.size(), front.size());
  std::printf("%-16s %-18s %5s  %8s  %8s  %10s  %10s  %8s  %8s  %6s  %8s\n", "model", "weight bits", "avg",
              "w bytes", "file", "sum KL", "KL", "fake-q", "integer", "Δ", "int=fq");
  std::vector<Measured> uniform, mixed;
  for (int b : {8, 4, 2}) {
    const quant::QConfig config = quant::default_qconfig(
        *f.model, {.weight_bits = b, .activation_bits = act_bits, .observer = observer_kind});
    uniform.push_back(measure("uniform w" + std::to_string(b), config, NAN));
  }
  std::vector<std::vector<int>> seen;
  for (double budget : front_bits) {
    const quant::Allocation& a = quant::best_within(front, budget * static_cast<double>(total_weights));
    if (std::find(seen.begin(), seen.end(), a.bits) != seen.end()) continue;
    seen.push_back(a.bits);
    char label[32];
    std::snprintf(label, sizeof label, "mixed <=%.2g bits", budget);
    mixed.push_back(measure(label, quant::mixed_qconfig(layers, a.bits, act_bits, observer_kind), a.error));
  }

  // 4. The chosen model, under the requested budget.
  const auto chosen_front = by_bytes ? quant::pareto_front(quant::weight_choices(table, quant::BudgetUnit::Bytes)) : front;
  const double budget = by_bytes ? static_cast<double>(budget_bytes) : budget_bits * static_cast<double>(total_weights);
  const quant::Allocation& a = quant::best_within(chosen_front, budget);
  const std::string budget_label = by_bytes ? cat("<= ", budget_bytes, " bytes") : cat("<= ", budget_bits, " bits");
  std::printf("\nchosen under %s:\n", budget_label.c_str());
  Measured chosen = measure("chosen", quant::mixed_qconfig(layers, a.bits, act_bits, observer_kind), a.error);
  const std::string path = save.empty() ? tmp : save;
  const nn::Metadata meta{{"arch", f.arch}, {"float_model", model_path}, {"mixed.weight_bits", bits_str(a.bits)},
                          {"mixed.act_bits", std::to_string(act_bits)}, {"mixed.budget", budget_label}};
  chosen.file_bytes = saved_size(*chosen.int_model, meta, path);
  auto loaded = quant::load_int_model(path);
  const examples::Evaluation lev = examples::evaluate(*loaded, test_loader, classes);
  const examples::Agreement reloaded = examples::compare_models(*chosen.fake_quant, *loaded, test_loader);
  std::printf("saved to %s (%lld bytes) and loaded back: accuracy %.2f%%, same prediction as the fake-quant model on "
              "%.2f%% of %lld test images, max |logit diff| %.5f (output step %.5f)\n",
              save.empty() ? "a temporary file" : save.c_str(), static_cast<long long>(chosen.file_bytes),
              100.0 * lev.accuracy, 100.0 * reloaded.prediction_match, static_cast<long long>(reloaded.images),
              reloaded.max_logit_diff, loaded->output_qparams.scale[0]);
  std::error_code ec;
  std::filesystem::remove(tmp, ec);

  nlohmann::json sens = nlohmann::json::array();
  for (const auto& e : table.entries)
    sens.push_back({{"layer", e.layer}, {"kind", quant::to_string(e.kind)}, {"bits", e.bits}, {"kl", e.kl},
                    {"mse", e.mse}, {"held_out_accuracy", e.accuracy}});
  nlohmann::json layer_list = nlohmann::json::array();
  for (const auto& l : layers) layer_list.push_back({{"name", l.name}, {"weights", l.weights}, {"channels", l.channels}});
  nlohmann::json search_front = nlohmann::json::array();
  for (const auto& p : front)
    search_front.push_back({{"weight_bits", p.bits}, {"average_weight_bits", p.cost / static_cast<double>(total_weights)},
                            {"predicted_kl", p.error}});
  nlohmann::json uniform_json = nlohmann::json::array(), mixed_json = nlohmann::json::array();
  for (const auto& m : uniform) uniform_json.push_back(to_json(m, layers));
  for (const auto& m : mixed) mixed_json.push_back(to_json(m, layers));
  nlohmann::json chosen_json = to_json(chosen, layers);
  chosen_json.update({{"budget", budget_label}, {"loaded_int_test_accuracy", lev.accuracy},
                      {"loaded_vs_fake_quant_prediction_match", reloaded.prediction_match},
                      {"loaded_vs_fake_quant_max_logit_diff", reloaded.max_logit_diff}});
  examples::write_json(metrics_json, {{"program", "mixed_precision"}, {"model", model_path}, {"arch", f.arch},
                                      {"act_bits", act_bits}, {"observer", observer},
                                      {"calib_samples", calib_set.size()}, {"held_out", held_set.size()},
                                      {"threads", threads}, {"float_test_accuracy", fev.accuracy},
                                      {"float_held_out_accuracy", table.float_accuracy},
                                      {"sensitivity_seconds", sensitivity_s}, {"layers", layer_list},
                                      {"sensitivity", sens}, {"search_front", search_front},
                                      {"uniform", uniform_json}, {"mixed", mixed_json}, {"chosen", chosen_json}});
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "mixed_precision: %s\n", e.what());
  return 1;
}
