// bench_cifar: the CIFAR CNN's float speed, training and inference, for `make bench-cifar`.
//
//   build/bench/bench_cifar [--threads 2] [--train-batch 128] [--train-steps 6]
//                           [--infer-batch 256] [--infer-steps 6]
//
// The model is examples/common/models.h's cifar_cnn; bench/pytorch_cifar.py builds the same one
// in PyTorch and times it the same way: a fixed random batch (only arithmetic is timed, no data
// loading), one warm-up step, then
//   training:  forward, cross-entropy, backward, SGD step (Nesterov momentum, weight decay)
//   inference: eval mode, no graph, forward only
// Prints one JSON line: {"framework": "qgrad", "threads": ..., "train_samples_per_second": ...,
// "infer_images_per_second": ...}.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "examples/common/models.h"
#include "qgrad.h"

using namespace qgrad;
using Clock = std::chrono::steady_clock;

namespace {

int64_t flag(int argc, char** argv, const char* name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) {
      char* end = nullptr;
      const long long v = std::strtoll(argv[i + 1], &end, 10);
      check(end != argv[i + 1] && *end == '\0' && v >= 1, "bench_cifar", name,
            " expects a positive integer, got '", argv[i + 1], "'");
      return v;
    }
  return fallback;
}

Tensor labels_for(int64_t batch) {
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>(i % 10);
  return from_vector(labels, {batch});
}

// Seconds per call of step(), after one warm-up call.
template <class Step>
double seconds_per_step(int64_t steps, Step&& step) {
  step();
  const auto t0 = Clock::now();
  for (int64_t s = 0; s < steps; ++s) step();
  return std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(steps);
}

}  // namespace

int main(int argc, char** argv) try {
  set_num_threads(static_cast<int>(flag(argc, argv, "--threads", 2)));
  const int64_t train_batch = flag(argc, argv, "--train-batch", 128), train_steps = flag(argc, argv, "--train-steps", 6);
  const int64_t infer_batch = flag(argc, argv, "--infer-batch", 256), infer_steps = flag(argc, argv, "--infer-steps", 6);

  manual_seed(0);
  auto model = examples::make_model("cifar_cnn", 0);
  optim::SGD opt(model->parameters(), {.lr = 0.01f, .momentum = 0.9f, .nesterov = true, .weight_decay = 5e-4f});
  Tensor x = randn({train_batch, 3, 32, 32}), y = labels_for(train_batch);
  model->train();
  const double train = seconds_per_step(train_steps, [&] {
    Tensor loss = cross_entropy((*model)(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
  });

  Tensor xi = randn({infer_batch, 3, 32, 32});
  model->eval();
  NoGradGuard no_grad;
  const double infer = seconds_per_step(infer_steps, [&] { (*model)(xi); });

  std::printf("{\"framework\": \"qgrad\", \"threads\": %d, \"train_batch\": %lld, \"train_samples_per_second\": %.2f, "
              "\"infer_batch\": %lld, \"infer_images_per_second\": %.2f}\n",
              get_num_threads(), static_cast<long long>(train_batch), static_cast<double>(train_batch) / train,
              static_cast<long long>(infer_batch), static_cast<double>(infer_batch) / infer);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_cifar: %s\n", e.what());
  return 1;
}
