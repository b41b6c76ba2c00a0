// profile_training_step: where one training step of a zoo model spends its time.
//
//   build/bench/profile_training_step [--arch cifar_cnn] [--batch 128] [--steps 20] [--threads 2]
//
// Runs `steps` SGD steps (Nesterov momentum, as cifar_cnn trains) on a fixed random batch after
// two warm-up steps, and prints
//   - the step's split into forward, loss, backward and optimizer time, and samples/s;
//   - each layer type's share of the forward pass (timed through nn::CallObserver, leaf modules
//     only, so a Sequential's time is not counted twice).
// The backward is one call into autograd; for its split by kernel run the program under
// `perf record` (docs/performance.md shows how). No data set is read: the numbers are about the
// arithmetic, not I/O.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "examples/common/models.h"
#include "qgrad.h"

using namespace qgrad;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Accumulates the time of each leaf module's calls by type name.
class LayerTimer : public nn::CallObserver {
 public:
  void enter(const nn::Module& m) override {
    if (m.children().empty()) started_ = Clock::now();
  }
  void exit(const nn::Module& m, const std::vector<Tensor>&, const Tensor&) override {
    if (m.children().empty()) seconds[m.type_name()] += seconds_since(started_);
  }
  std::map<std::string, double> seconds;

 private:
  Clock::time_point started_;
};

int64_t flag(int argc, char** argv, const char* name, int64_t fallback, std::string* text = nullptr) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) {
      if (text) *text = argv[i + 1];
      return text ? 0 : std::atoll(argv[i + 1]);
    }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  std::string arch = "cifar_cnn";
  flag(argc, argv, "--arch", 0, &arch);
  const int64_t batch = flag(argc, argv, "--batch", 128), steps = flag(argc, argv, "--steps", 20);
  set_num_threads(static_cast<int>(flag(argc, argv, "--threads", 2)));
  const bool mnist = examples::dataset_of(arch) == "mnist";
  const Shape input = mnist ? Shape{batch, 1, 28, 28} : Shape{batch, 3, 32, 32};

  manual_seed(0);
  auto model = examples::make_model(arch, 0);
  model->train();
  optim::SGD opt(model->parameters(), {.lr = 0.01f, .momentum = 0.9f, .nesterov = true, .weight_decay = 5e-4f});
  Tensor x = randn(input);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>(i % 10);
  Tensor y = from_vector(labels, {batch});

  double forward = 0, loss_s = 0, backward = 0, update = 0;
  LayerTimer timer;
  for (int64_t s = -2; s < steps; ++s) {  // two warm-up steps, not counted
    const bool counted = s >= 0;
    if (counted) nn::set_call_observer(&timer);
    auto t0 = Clock::now();
    Tensor logits = (*model)(x);
    nn::set_call_observer(nullptr);
    auto t1 = Clock::now();
    Tensor loss = cross_entropy(logits, y);
    auto t2 = Clock::now();
    opt.zero_grad();
    loss.backward();
    auto t3 = Clock::now();
    opt.step();
    if (counted) {
      forward += std::chrono::duration<double>(t1 - t0).count();
      loss_s += std::chrono::duration<double>(t2 - t1).count();
      backward += std::chrono::duration<double>(t3 - t2).count();
      update += seconds_since(t3);
    }
  }
  const double total = forward + loss_s + backward + update;
  std::printf("%s, batch %lld, %lld steps, %d threads: %.1f ms/step, %.1f samples/s\n", arch.c_str(),
              static_cast<long long>(batch), static_cast<long long>(steps), get_num_threads(),
              1e3 * total / static_cast<double>(steps), static_cast<double>(batch * steps) / total);
  std::printf("  %-10s %7.1f ms  %5.1f%%\n", "forward", 1e3 * forward / steps, 100 * forward / total);
  std::printf("  %-10s %7.1f ms  %5.1f%%\n", "loss", 1e3 * loss_s / steps, 100 * loss_s / total);
  std::printf("  %-10s %7.1f ms  %5.1f%%\n", "backward", 1e3 * backward / steps, 100 * backward / total);
  std::printf("  %-10s %7.1f ms  %5.1f%%\n", "optimizer", 1e3 * update / steps, 100 * update / total);
  std::printf("forward by layer type:\n");
  for (const auto& [type, sec] : timer.seconds)
    std::printf("  %-14s %7.1f ms  %5.1f%% of forward\n", type.c_str(), 1e3 * sec / steps, 100 * sec / forward);
  return 0;
}
