// bench_cuda_training: training throughput of zoo models on the GPU against the same run on the
// CPU (built only with the CUDA backend).
//
//   build/bench/bench_cuda_training [--steps 50] [--cpu-steps 10] [--batch 64] [--threads N]
//                                   [--json PATH]
//
// For LeNet-5 (MNIST shapes, 1x28x28) and the CIFAR CNN (3x32x32): SGD with momentum on random
// batches (the values do not change the arithmetic, so no data set is read). Each step is what a
// training loop does: the batch is built on the host and copied to the device, forward, loss,
// backward, optimizer step. Two warm-up steps, then `steps` timed steps (the GPU's clock stops
// after the last step's loss has been read back, so all its work is counted). Prints a table and
// the same numbers as JSON (to stdout, and to PATH with --json). Exits 77 with
// "skipped: no CUDA device" where no GPU is visible.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/backend/cuda_device.h"
#include "examples/common/models.h"
#include "qgrad.h"

using namespace qgrad;
using Clock = std::chrono::steady_clock;

namespace {

struct Result {
  std::string arch;
  Device device;
  int steps;
  double seconds;
  double steps_per_s() const { return steps / seconds; }
  double ms_per_step() const { return 1e3 * seconds / steps; }
};

// `steps` timed training steps (after two warm-up steps) of arch on device.
Result run(const std::string& arch, Device device, int steps, int64_t batch) {
  const bool mnist = examples::dataset_of(arch) == "mnist";
  const Shape shape = mnist ? Shape{batch, 1, 28, 28} : Shape{batch, 3, 32, 32};
  auto model = examples::make_model(arch, 1);
  model->to(device);
  optim::SGD opt(model->parameters(), {.lr = 0.01f, .momentum = 0.9f});
  Generator gen(2);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  auto step = [&] {
    const Tensor x = rand(shape, gen).to(device);  // built on the host, as a loader's batch is
    for (auto& l : labels) l = static_cast<int32_t>(gen.below(10));
    const Tensor y = from_vector(labels, {batch}).to(device);
    opt.zero_grad();
    Tensor loss = cross_entropy((*model)(x), y);
    loss.backward();
    opt.step();
    return loss;
  };
  for (int i = 0; i < 2; ++i) step().item();
  const auto t0 = Clock::now();
  Tensor last;
  for (int i = 0; i < steps; ++i) last = step();
  // Reading the loss waits for every kernel queued before it (and for the optimizer's
  // update of the last step, queued after the loss was computed, read a parameter).
  last.item();
  model->parameters().back().to_vector();
  return {arch, device, steps, std::chrono::duration<double>(Clock::now() - t0).count()};
}

int int_flag(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return fallback;
}

const char* str_flag(int argc, char** argv, const char* name) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (!cuda_is_available()) {
    std::printf("skipped: no CUDA device (%s)\n", cuda_device_description().c_str());
    return 77;
  }
  try {
    const int steps = int_flag(argc, argv, "--steps", 50), cpu_steps = int_flag(argc, argv, "--cpu-steps", 10);
    const int64_t batch = int_flag(argc, argv, "--batch", 64);
    const int threads = int_flag(argc, argv, "--threads", 0);
    if (threads > 0) set_num_threads(threads);
    check(steps > 0 && cpu_steps > 0 && batch > 0, "bench_cuda_training", "--steps, --cpu-steps and --batch must be positive");
    std::printf("GPU: %s; CPU: %d threads; batch %lld\n\n", cuda_device_description().c_str(), get_num_threads(),
                static_cast<long long>(batch));
    std::printf("%-10s %-6s %6s %12s %10s %9s\n", "model", "device", "steps", "ms/step", "steps/s", "speedup");
    std::string json = "{\"gpu\": \"" + cuda_device_description() + "\", \"cpu_threads\": " +
                       std::to_string(get_num_threads()) + ", \"batch\": " + std::to_string(batch) + ", \"runs\": [";
    bool first = true;
    for (const std::string arch : {"lenet5", "cifar_cnn"}) {
      const Result gpu = run(arch, Device::CUDA, steps, batch);
      const Result cpu = run(arch, Device::CPU, cpu_steps, batch);
      const double speedup = gpu.steps_per_s() / cpu.steps_per_s();
      for (const Result& r : {cpu, gpu}) {
        std::printf("%-10s %-6s %6d %12.3f %10.2f", r.arch.c_str(), device_name(r.device), r.steps, r.ms_per_step(),
                    r.steps_per_s());
        if (r.device == Device::CUDA) std::printf(" %8.1fx", speedup);
        std::printf("\n");
        json += std::string(first ? "" : ", ") + "{\"model\": \"" + r.arch + "\", \"device\": \"" +
                device_name(r.device) + "\", \"steps\": " + std::to_string(r.steps) +
                ", \"ms_per_step\": " + std::to_string(r.ms_per_step()) +
                ", \"steps_per_s\": " + std::to_string(r.steps_per_s()) + "}";
        first = false;
      }
    }
    json += "]}";
    std::printf("\n%s\n", json.c_str());
    if (const char* path = str_flag(argc, argv, "--json")) std::ofstream(path) << json << "\n";
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
