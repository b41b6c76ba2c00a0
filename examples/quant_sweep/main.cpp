// quant_sweep: one table comparing every way of quantizing a float checkpoint's weights that qgrad
// knows. For each weight bit width (--bits), post-training quantization over the grid
//   scheme (asym | sym) x granularity (tensor | channel) x activation observer (minmax | ema |
//   percentile | mse)
// done as examples/ptq does it (prepare -> calibrate -> freeze observers -> fake-quant evaluate),
// then, at 2..4 bits, the non-linear weight methods of quant/math/nonlinear.h: a k-means codebook
// per tensor and power-of-two levels (on the int8 grid the integer model uses, int_codebook), with
// the activations quantized as in the linear sym/channel/minmax row. Each row: test accuracy of
// the fake-quant model, its change against float, the weight storage at that bit width (computed
// from the element counts, see quantized_weights), the mean SQNR of the quantized weights against
// the float ones (quant/math/metrics.h) and, for symmetric weights (what convert() accepts), the
// integer model's test accuracy and the size of its file, measured by saving it.
// Non-linear rows stop at 4 bits: power-of-two levels need more than int8 beyond that, and a 5..8
// bit index takes a byte in the file like an int8 code, so a codebook saves nothing.
// Then, at every bit width, the post-training repairs of quant/repair/ (--repairs) on the linear
// sym/channel/minmax setting, as `ptq --equalize / --adaround / --bias-correction` runs them
// (examples/common/repair.h): method "linear+bc", "linear+cle", "linear+adaround" and
// "linear+cle+adaround+bc" (all three), against the plain round-to-nearest "linear" row.
//   build/examples/quant_sweep --model lenet5.safetensors --data data/mnist --bits 8,4,2
//       --markdown sweep.md --metrics-json sweep.json
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/autograd.h"
#include "core/error.h"
#include "examples/common/cli.h"
#include "examples/common/quantization.h"
#include "examples/common/repair.h"
#include "examples/common/task.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/math/metrics.h"
#include "quant/math/nonlinear.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/intmodel/convert.h"
#include "quant/intmodel/int_model_file.h"

using namespace qgrad;

namespace {

struct Row {
  std::string method, scheme, granularity, observer, repair = "rtn";
  int bits = 32;
  double accuracy = 0, delta = 0, sqnr_db = 0;
  int64_t bytes = 0;
  double int_accuracy = NAN;  // NaN: no integer model (asymmetric weights)
  int64_t file_bytes = 0;     // 0: none
};

int64_t packed_bytes(int bits, int64_t count) { return (bits * count + 7) / 8; }

// Fills row.bytes and row.sqnr_db from a prepared, calibrated model's quantized layers:
//   model bytes per quantized layer = packed weight bits + the method's side information
//     linear:        one float32 scale per channel (+ one byte of zero point each when asymmetric)
//     kmeans, pow2:  the codebook, 2^bits int8 levels, and one float32 scale
//   + the bias (int32 in the integer model, float32 here: 4 bytes either way). Layers outside
//   the Qat layers keep float32 parameters (4 bytes each).
// The SQNR compares the quantized weights with `reference`'s float weight of each layer (taken
// before AdaRound replaced the weights by their codes), or the layer's own weights without one.
void quantized_weights(nn::Module& prepared, Row& row, const quant::FloatWeights& reference) {
  NoGradGuard no_grad;
  double sqnr_sum = 0;
  int64_t layers = 0, bytes = 0;
  for (const auto& [name, m] : prepared.named_modules()) {
    auto* layer = dynamic_cast<quant::QatLayer*>(m.get());
    if (!layer) {
      const bool leaf_with_params = m->children().empty() && !dynamic_cast<quant::FakeQuantize*>(m.get());
      if (leaf_with_params) bytes += 4 * m->num_parameters();
      continue;
    }
    const auto [w, b] = layer->effective_weight_bias();
    const int bits = layer->weight_bits();
    const auto ref = reference.find(name);
    sqnr_sum += quant::sqnr_db(ref == reference.end() ? w : ref->second, layer->quantized_weight(w));
    if (layer->weight_method() == quant::WeightMethod::Linear) {
      const quant::QParams qp = layer->weight_qparams();
      bytes += packed_bytes(bits, w.numel()) + qp.channels() * (4 + (qp.is_signed ? 0 : 1));
    } else {
      bytes += packed_bytes(bits, w.numel()) + (int64_t{1} << bits) + 4;
    }
    if (b.defined()) bytes += 4 * b.numel();
    ++layers;
  }
  check(layers > 0, "quant_sweep", "the model has no quantized Conv2d/Linear layer");
  row.bytes = bytes;
  row.sqnr_db = sqnr_sum / static_cast<double>(layers);
}

// The size of model's file, measured by saving it to a temporary file.
int64_t int_model_file_bytes(const quant::IntModel& model) {
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("qgrad_sweep_" + std::to_string(::getpid()) + ".safetensors");
  quant::save_int_model(tmp.string(), model);
  const int64_t bytes = examples::file_bytes(tmp.string());
  std::error_code ec;
  fs::remove(tmp, ec);
  return bytes;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string markdown(const std::vector<Row>& rows, const std::string& header) {
  std::ostringstream md;
  md << header << "\n\n"
     << "| method | bits | scheme | granularity | observer | test accuracy | Δ vs float (points) | model bytes | "
        "mean weight SQNR (dB) | integer accuracy | integer file bytes |\n"
     << "|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const Row& r : rows)
    md << "| " << r.method << " | " << r.bits << " | " << r.scheme << " | " << r.granularity << " | "
       << r.observer << " | " << fmt("%.2f%%", 100.0 * r.accuracy) << " | " << fmt("%+.2f", 100.0 * r.delta)
       << " | " << r.bytes << " | " << (std::isfinite(r.sqnr_db) ? fmt("%.1f", r.sqnr_db) : "-") << " | "
       << (std::isfinite(r.int_accuracy) ? fmt("%.2f%%", 100.0 * r.int_accuracy) : "-") << " | "
       << (r.file_bytes > 0 ? std::to_string(r.file_bytes) : "-") << " |\n";
  return md.str();
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"quant_sweep: PTQ over bit widths, weight schemes, granularities and observers, one row each"};
  std::string model_path, data_folder, sampling_name = "uniform", markdown_path, metrics_json;
  std::vector<int> bit_widths{8, 4, 2};
  std::vector<std::string> schemes{"asym", "sym"}, grans{"tensor", "channel"},
      observers{"minmax", "ema", "percentile", "mse"}, repairs{"bc", "cle", "adaround", "all"};
  int64_t adaround_iters = examples::RepairFlags{}.adaround_iters;
  int act_bits = 8, keep_ends = 1;
  int64_t calib_samples = 1000, limit_test = 0;
  uint64_t seed = 0;
  examples::RuntimeFlags runtime;
  const int64_t kMaxCount = std::numeric_limits<int64_t>::max();
  app.add_option("--model", model_path, "float checkpoint written by a training program (.safetensors)")
      ->required()->check(examples::existing_file());
  app.add_option("--data", data_folder, "folder holding the data set's files (default: data/<dataset>)");
  app.add_option("--bits", bit_widths, "weight bit widths to sweep, comma-separated")
      ->delimiter(',')->check(examples::integer_in(2, 8));
  app.add_option("--act-bits", act_bits, "activation bit width, 2..8 (0: the row's weight bit width)")
      ->check(examples::integer_in(0, 8));
  app.add_option("--schemes", schemes, "weight schemes to sweep: asym, sym")
      ->delimiter(',')->check(CLI::IsMember({"sym", "asym"}));
  app.add_option("--granularities", grans, "weight granularities to sweep: tensor, channel")
      ->delimiter(',')->check(CLI::IsMember({"tensor", "channel"}));
  app.add_option("--observers", observers, "activation observers to sweep")
      ->delimiter(',')->check(CLI::IsMember({"minmax", "ema", "percentile", "mse"}));
  app.add_option("--repairs", repairs,
                 "repair rows at each bit width on sym/channel/minmax: bc (bias correction), cle (cross-layer "
                 "equalization), adaround, all (the three together); none: no repair rows")
      ->delimiter(',')->check(CLI::IsMember({"none", "bc", "cle", "adaround", "all"}));
  app.add_option("--adaround-iters", adaround_iters, "AdaRound: Adam steps per layer")
      ->check(examples::integer_in(1, 1000000));
  app.add_option("--keep-ends", keep_ends, "1: first and last quantized layer stay at 8 bits when bits < 8")
      ->check(examples::integer_in(0, 1));
  app.add_option("--calib-samples", calib_samples, "training images that calibrate activation ranges (0: all)")
      ->check(examples::integer_in(0, kMaxCount));
  app.add_option("--sampling", sampling_name, "which calibration images: all, uniform (every k-th), random")
      ->check(CLI::IsMember({"all", "uniform", "random"}));
  app.add_option("--seed", seed, "seed of random sampling")->check(examples::integer_in(0, kMaxCount));
  app.add_option("--limit-test", limit_test, "evaluate on this many test images, evenly spaced (0: all)")
      ->check(examples::integer_in(0, kMaxCount));
  app.add_option("--markdown", markdown_path, "write the table here (.md)")->check(examples::writable_file());
  app.add_option("--metrics-json", metrics_json, "write the rows here, as a JSON list of objects")
      ->check(examples::writable_file());
  examples::add_runtime_flags(app, runtime);
  examples::parse(app, argc, argv);
  if (act_bits > 0) quant::check_bits(act_bits, "quant_sweep --act-bits");
  const int threads = examples::apply(runtime);
  examples::require_cpu(runtime, "quant_sweep");

  examples::FloatModel f = examples::load_float_model(model_path);
  const std::string dir = examples::data_dir(data_folder, f.dataset);
  data::Dataset train_set = examples::load_dataset(f.dataset, dir, data::Split::Train);
  data::Dataset test_set = examples::load_dataset(f.dataset, dir, data::Split::Test);
  if (limit_test > 0) test_set = test_set.evenly_spaced(static_cast<size_t>(limit_test));
  data::DataLoader test_loader(test_set, examples::loader_options(test_set, 500));
  const auto classes = static_cast<int64_t>(test_set.classes().size());
  const auto sampling_kind = quant::parse_sampling_kind(sampling_name);
  const quant::Sampling sampling{.kind = sampling_kind,
                                 .count = sampling_kind == quant::Sampling::Kind::All ? 0 : calib_samples,
                                 .seed = seed};

  const auto start = std::chrono::steady_clock::now();
  std::vector<Row> rows;
  const examples::Evaluation fev = examples::evaluate(*f.model, test_loader, classes);
  rows.push_back({.method = "float", .scheme = "-", .granularity = "-", .observer = "-", .repair = "-", .bits = 32,
                  .accuracy = fev.accuracy, .sqnr_db = INFINITY, .bytes = 4 * f.model->num_parameters()});
  int64_t calibrated = 0;
  // One PTQ run: prepare with the config, calibrate, freeze, then the method's weights.
  auto run = [&](quant::WeightMethod method, int bits, const std::string& scheme, const std::string& gran,
                 const std::string& observer, const examples::RepairFlags& repair = {}) {
    const bool linear = method == quant::WeightMethod::Linear;
    const quant::QConfig config = quant::default_qconfig(
        *f.model, {.weight_bits = bits, .activation_bits = act_bits > 0 ? act_bits : bits, .symmetric_weights = scheme == "sym",
                   .per_channel = gran == "channel", .weight_method = method,
                   .observer = quant::parse_observer_kind(observer), .keep_ends_8bit = keep_ends != 0});
    auto qmodel = quant::prepare(*f.model, config);
    examples::RepairReport repaired;
    examples::equalize_if_asked(repair, *qmodel, repaired);
    calibrated = examples::calibrate(*qmodel, train_set, sampling);
    quant::set_observe(*qmodel, false);
    quant::set_fake_quant(*qmodel, true);
    const quant::FloatWeights float_weights = quant::float_weights(*qmodel);  // (equalized) float weights
    examples::repair_calibrated(repair, *qmodel, train_set, sampling, repaired);
    const std::string repair_name = examples::repair_name(repair);
    Row row{.method = quant::to_string(method) + (repair_name == "rtn" ? "" : "+" + repair_name),
            .scheme = linear ? scheme : "-", .granularity = linear ? gran : "tensor", .observer = observer,
            .repair = repair_name, .bits = bits};
    quantized_weights(*qmodel, row, float_weights);
    row.accuracy = examples::evaluate(*qmodel, test_loader, classes).accuracy;
    row.delta = row.accuracy - fev.accuracy;
    if (scheme == "sym") {
      auto int_model = quant::convert(*qmodel);
      int_model->input_spec = examples::input_spec(train_set);
      row.int_accuracy = examples::evaluate(*int_model, test_loader, classes).accuracy;
      row.file_bytes = int_model_file_bytes(*int_model);
    }
    rows.push_back(row);
    std::printf("%-6s w%d %-4s %-7s %-10s  accuracy %6.2f%%  (%+.2f)  %8lld bytes  SQNR %5.1f dB", row.method.c_str(),
                bits, row.scheme.c_str(), row.granularity.c_str(), observer.c_str(), 100.0 * row.accuracy,
                100.0 * row.delta, static_cast<long long>(row.bytes), row.sqnr_db);
    if (row.file_bytes > 0)
      std::printf("  integer %6.2f%%  file %8lld bytes", 100.0 * row.int_accuracy,
                  static_cast<long long>(row.file_bytes));
    std::printf("\n");
    std::fflush(stdout);
  };
  std::printf("%s, %d thread(s), %zu test images: float accuracy %.2f%%\n", f.arch.c_str(), threads, test_set.size(),
              100.0 * fev.accuracy);
  for (int bits : bit_widths) {
    for (const auto& scheme : schemes)
      for (const auto& gran : grans)
        for (const auto& obs : observers) run(quant::WeightMethod::Linear, bits, scheme, gran, obs);
    if (bits <= 4) {
      run(quant::WeightMethod::KMeans, bits, "sym", "channel", "minmax");
      run(quant::WeightMethod::PowerOfTwo, bits, "sym", "channel", "minmax");
    }
    for (const auto& name : repairs) {
      if (name == "none") continue;
      const bool all = name == "all";
      run(quant::WeightMethod::Linear, bits, "sym", "channel", "minmax",
          {.equalize = all || name == "cle", .bias_correction = all || name == "bc",
           .adaround = all || name == "adaround", .adaround_iters = adaround_iters});
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu rows in %.1f s\n", rows.size(), seconds);

  const std::string header =
      cat("quant_sweep on ", model_path, " (", f.arch, "): ", test_set.size(), " test images, activations ",
          act_bits > 0 ? cat(act_bits, "-bit") : std::string("at the weight bit width"), ", calibrated on ", calibrated, " ",
          sampling_name, "-sampled training images; first and last layer at 8 bits below 8 bits: ",
          keep_ends != 0 ? "yes" : "no", ". Model bytes are computed (packed weight bits + "
          "scales/zero points/codebook + 32-bit biases); integer file bytes are measured by saving the integer model.",
          " Rows linear+<repair> are sym/channel/minmax with post-training repairs (bc: bias correction, cle: "
          "cross-layer equalization, adaround: learned rounding, ", adaround_iters, " Adam steps per layer).");
  if (!markdown_path.empty()) {
    std::ofstream md(markdown_path);
    check(md.good(), "quant_sweep", "cannot write ", markdown_path);
    md << markdown(rows, header);
  }
  nlohmann::json list = nlohmann::json::array();
  for (const Row& r : rows)
    list.push_back({{"method", r.method}, {"repair", r.repair}, {"bits", r.bits}, {"scheme", r.scheme}, {"granularity", r.granularity},
                    {"observer", r.observer}, {"act_bits", r.method == "float" ? 32 : (act_bits > 0 ? act_bits : r.bits)},
                    {"test_accuracy", r.accuracy}, {"delta_vs_float", r.delta}, {"model_bytes", r.bytes},
                    {"mean_weight_sqnr_db", std::isfinite(r.sqnr_db) ? nlohmann::json(r.sqnr_db) : nlohmann::json()},
                    {"integer_accuracy", std::isfinite(r.int_accuracy) ? nlohmann::json(r.int_accuracy) : nlohmann::json()},
                    {"integer_file_bytes", r.file_bytes > 0 ? nlohmann::json(r.file_bytes) : nlohmann::json()}});
  examples::write_json(metrics_json, list);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "quant_sweep: %s\n", e.what());
  return 1;
}
