// dynamic_quant: the article's torch.quantization.quantize_dynamic(model, {nn.Linear}, qint8) on a
// qgrad checkpoint. Every Linear becomes a DynamicQuantLinear (int8 per-channel weights, uint8
// activations quantized with each batch's own range, int32 GEMM, float output); other layers
// (LeNet's convolutions) stay float. No calibration data is needed. Reports float and dynamic
// test accuracy, weight bytes, and images/s of both at batch 256 and batch 1.
//   build/examples/dynamic_quant --model mlp.safetensors --data data/mnist --threads 2
#include <chrono>
#include <cstdio>
#include <limits>
#include <exception>
#include <vector>

#include "core/autograd.h"
#include "examples/common/cli.h"
#include "examples/common/quantization.h"
#include "examples/common/task.h"
#include "quant/intmodel/dynamic.h"

using namespace qgrad;

namespace {

// Accuracy and throughput of one model over pre-built batches (the loader's uint8 -> float
// conversion is done before the clock starts, so only forward passes are timed).
struct Timed {
  double accuracy = 0, images_per_s = 0, seconds = 0;
};

Timed run_timed(nn::Module& model, const std::vector<data::Batch>& batches) {
  model.eval();
  NoGradGuard no_grad;
  model(batches.front().images);  // warm-up: first-touch allocations, kernel dispatch
  int64_t correct = 0, seen = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& b : batches) {
    correct += examples::count_correct(model(b.images), b.labels);
    seen += b.labels.numel();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {static_cast<double>(correct) / static_cast<double>(seen), static_cast<double>(seen) / s, s};
}

std::vector<data::Batch> all_batches(const data::Dataset& set, int64_t batch_size) {
  data::DataLoader loader(set, examples::loader_options(set, batch_size));
  std::vector<data::Batch> out;
  for (size_t b = 0; b < loader.num_batches(); ++b) out.push_back(loader.batch(b));
  return out;
}

// Bytes of the model's weights as stored: float32 parameters, and for each DynamicQuantLinear its
// int8 weight + float32 per-channel scales + float32 bias.
int64_t stored_bytes(const nn::Module& model) {
  int64_t bytes = 0;
  for (const auto& [name, m] : model.named_modules()) {
    if (const auto* d = dynamic_cast<const quant::DynamicQuantLinear*>(m.get())) bytes += d->weight_bytes();
    if (m->children().empty())
      for (const auto& [pname, p] : m->named_parameters()) bytes += 4 * p.numel();
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"dynamic_quant: dynamic quantization of a float model's Linear layers, accuracy and speed"};
  std::string model_path, data_folder, metrics_json;
  int64_t limit_test = 0;
  examples::RuntimeFlags runtime;
  app.add_option("--model", model_path, "float checkpoint written by a training program (.safetensors)")
      ->required()->check(examples::existing_file());
  app.add_option("--data", data_folder, "folder holding the data set's files (default: data/<dataset>)");
  app.add_option("--limit-test", limit_test, "use this many test images, evenly spaced (0: all)")
      ->check(examples::integer_in(0, std::numeric_limits<int64_t>::max()));
  app.add_option("--metrics-json", metrics_json, "write the accuracies, weight bytes and speeds here")
      ->check(examples::writable_file());
  examples::add_runtime_flags(app, runtime);
  examples::parse(app, argc, argv);
  const int threads = examples::apply(runtime);
  examples::require_cpu(runtime, "dynamic_quant");

  examples::FloatModel f = examples::load_float_model(model_path);
  const std::string dir = examples::data_dir(data_folder, f.dataset);
  data::Dataset test_set = examples::load_dataset(f.dataset, dir, data::Split::Test);
  if (limit_test > 0) test_set = test_set.evenly_spaced(static_cast<size_t>(limit_test));

  auto dq = quant::quantize_dynamic(*f.model);
  int64_t replaced = 0;
  for (const auto& [name, m] : dq->named_modules()) replaced += dynamic_cast<quant::DynamicQuantLinear*>(m.get()) != nullptr;
  check(replaced > 0, "dynamic_quant", model_path, " (", f.arch, ") has no Linear layer to quantize");

  const int64_t float_bytes = stored_bytes(*f.model), dq_bytes = stored_bytes(*dq);
  std::printf("%s, %d thread(s): %lld Linear layer(s) quantized dynamically (int8 weights per channel, "
              "uint8 activations per batch); other layers stay float\n",
              f.arch.c_str(), threads, static_cast<long long>(replaced));
  std::printf("weights: float %lld bytes, dynamic int8 %lld bytes (%.2fx smaller)\n",
              static_cast<long long>(float_bytes), static_cast<long long>(dq_bytes),
              static_cast<double>(float_bytes) / static_cast<double>(dq_bytes));

  nlohmann::json runs = nlohmann::json::array();
  std::printf("%-6s %-14s %10s %12s %9s\n", "batch", "model", "accuracy", "images/s", "seconds");
  for (int64_t batch : {256, 1}) {
    const auto batches = all_batches(test_set, batch);
    const Timed ft = run_timed(*f.model, batches);
    const Timed dt = run_timed(*dq, batches);
    for (const auto& [name, t] : {std::pair{"float", ft}, std::pair{"dynamic-int8", dt}}) {
      std::printf("%-6lld %-14s %9.2f%% %12.0f %9.2f\n", static_cast<long long>(batch), name, 100.0 * t.accuracy,
                  t.images_per_s, t.seconds);
      runs.push_back({{"batch", batch}, {"model", name}, {"test_accuracy", t.accuracy},
                      {"images_per_s", t.images_per_s}, {"seconds", t.seconds}});
    }
  }
  std::printf("(accuracy depends on the batch: each batch is quantized with its own range)\n");
  examples::write_json(metrics_json,
                       {{"program", "dynamic_quant"}, {"model", model_path}, {"arch", f.arch},
                        {"threads", threads}, {"test_images", test_set.size()},
                        {"linear_layers_quantized", replaced}, {"float_weight_bytes", float_bytes},
                        {"dynamic_weight_bytes", dq_bytes}, {"runs", runs}});
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "dynamic_quant: %s\n", e.what());
  return 1;
}
