// mnist_cnn: trains LeNet-5 on MNIST with SGD + momentum and a cosine learning-rate decay.
//   build/examples/mnist_cnn --epochs 3 --save lenet5.safetensors --metrics-json lenet5.json
// The whole program is here: flags, data, model, the training loop (forward, loss, backward,
// step), evaluation, checkpoint and metrics. What it borrows from examples/common is plumbing:
// flag parsing, the progress bar, the model zoo (models.h, which Python and the tests share),
// evaluate() and the per-epoch log. The checkpoint records the architecture ("arch"), so
// `evaluate` and the quantization programs rebuild the model from the file alone.
#include <cstdio>
#include <exception>

#include "examples/common/cli.h"
#include "examples/common/finite.h"
#include "examples/common/models.h"
#include "examples/common/progress.h"
#include "examples/common/task.h"
#include "datasets/mnist.h"
#include "nn/nn.h"

using namespace qgrad;

int main(int argc, char** argv) try {
  const std::string arch = "lenet5";
  CLI::App app{"mnist_cnn: trains LeNet-5 on MNIST (SGD + momentum, cosine learning-rate decay)"};
  examples::TrainingFlags flags{.epochs = 3, .batch_size = 64, .lr = 0.02};
  examples::add_training_flags(app, flags, "mnist");
  double momentum = 0.9;
  app.add_option("--momentum", momentum, "SGD momentum")->check(examples::number_in(0, 1, examples::Open::High));
  examples::parse(app, argc, argv);
  const int threads = examples::apply(flags.runtime);
  const Device device = examples::device(flags.runtime);  // --device cpu|cuda

  // Data: the training images (all, or --limit-train of them evenly spaced), reshuffled every
  // epoch, and the 10,000 test images; both normalized with the training set's mean and std.
  const data::Dataset train_set = data::MNIST(flags.data, data::Split::Train)
                                      .evenly_spaced(flags.limit_train > 0 ? static_cast<size_t>(flags.limit_train) : SIZE_MAX);
  const data::Dataset test_set = data::MNIST(flags.data, data::Split::Test);
  data::DataLoaderOptions train_options = examples::loader_options(train_set, flags.batch_size);
  train_options.shuffle = true;
  train_options.seed = flags.seed;
  data::DataLoader train_loader(train_set, train_options);
  data::DataLoader test_loader(test_set, examples::loader_options(test_set, 500));

  // Model, loss, optimizer; the learning rate decays from --lr to 0 over the epochs.
  auto model = examples::make_model(arch, flags.seed);
  model->to(device);  // parameters, and the optimizer's state after them, live where the model runs
  nn::CrossEntropyLoss criterion;
  optim::SGD opt(model->parameters(), {.lr = static_cast<float>(flags.lr), .momentum = static_cast<float>(momentum)});
  optim::CosineAnnealing schedule({.base_lr = static_cast<float>(flags.lr), .t_max = flags.epochs});
  const int64_t first_epoch = examples::resume(flags.resume, *model, opt, flags.epochs);
  schedule.set_t(first_epoch);
  schedule.apply(opt);
  std::printf("%s on %s: %zu train / %zu test images, %lld parameters, %d thread(s)\n", arch.c_str(),
              train_set.name().c_str(), train_set.size(), test_set.size(),
              static_cast<long long>(model->num_parameters()), threads);

  examples::TrainingLog log("mnist_cnn", arch, {{"threads", threads}, {"seed", flags.seed},
                            {"batch_size", flags.batch_size}, {"lr", flags.lr}});
  for (int64_t epoch = first_epoch + 1; epoch <= flags.epochs; ++epoch) {
    model->train();
    train_loader.set_epoch(static_cast<uint64_t>(epoch - 1));  // the shuffle's seed
    examples::ProgressBar bar(epoch, flags.epochs, train_loader.num_batches());
    examples::RunningStats stats;
    for (size_t step = 0; step < train_loader.num_batches(); ++step) {
      const data::Batch batch = train_loader.batch(step).to(device);
      Tensor logits = (*model)(batch.images);
      Tensor loss = criterion(logits, batch.labels);
      opt.zero_grad();
      loss.backward();
      examples::require_finite_step(loss, *model, epoch, static_cast<int64_t>(step));
      opt.step();
      stats.add(loss, logits, batch.labels);
      bar.update(stats);
    }
    bar.finish();
    schedule.step(opt);
    log.epoch(epoch, stats, examples::evaluate(*model, test_loader, 10), bar.seconds());
    if (!flags.save.empty()) examples::save_training_checkpoint(flags.save, *model, opt, epoch, arch);
  }
  log.finish(flags.metrics_json, flags.save);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "mnist_cnn: %s\n", e.what());
  return 1;
}
