// mnist_cnn: trains LeNet-5 on MNIST with SGD + momentum and a cosine learning-rate
// decay; the training loop is written out in full.
//   build/examples/mnist_cnn --epochs 3 --save lenet5.safetensors --metrics-json lenet5.json
// The checkpoint records the architecture ("arch" = lenet5), so `evaluate` and the quantization
// programs rebuild the model from the file alone; --resume continues from a checkpoint's epoch.
#include <cstdio>
#include <exception>

#include "examples/common/cli.h"
#include "examples/common/models.h"
#include "examples/common/progress.h"
#include "examples/common/task.h"
#include "nn/nn.h"

using namespace qgrad;

int main(int argc, char** argv) try {
  const std::string arch = "lenet5";
  examples::Flags flags = examples::training_flags("data/mnist", 3, 64, 0.02);
  flags.add("momentum", "0.9", "SGD momentum").add("resume", "", "continue from this checkpoint");
  flags.parse(argc, argv);
  const int threads = examples::apply_threads(flags.integer("threads"));
  const auto seed = static_cast<uint64_t>(flags.integer("seed"));
  const int64_t epochs = flags.integer("epochs"), batch_size = flags.integer("batch-size");
  const auto lr = static_cast<float>(flags.real("lr")), momentum = static_cast<float>(flags.real("momentum"));

  examples::ClassifierData data({.dataset = "mnist", .dir = flags.str("data"), .batch_size = batch_size,
                                 .seed = seed, .limit_train = flags.integer("limit-train")});
  auto model = examples::make_model(arch, seed);
  optim::SGD opt(model->parameters(), {.lr = lr, .momentum = momentum});
  optim::CosineAnnealing schedule({.base_lr = lr, .t_max = epochs});  // lr decays to 0 by the end
  nn::CrossEntropyLoss criterion;
  int64_t first_epoch = 0;
  if (flags.given("resume")) first_epoch = nn::load_checkpoint(flags.str("resume"), *model, &opt).training.epoch;
  schedule.set_t(first_epoch);
  schedule.apply(opt);
  std::printf("%s on MNIST: %zu train / %zu test images, %lld parameters, %d thread(s)\n", arch.c_str(),
              data.train_set.size(), data.test_set.size(), static_cast<long long>(model->num_parameters()), threads);

  examples::TrainingLog log("mnist_cnn", arch, {{"threads", threads}, {"seed", seed},
                            {"batch_size", batch_size}, {"lr", lr}});
  for (int64_t epoch = first_epoch; epoch < epochs; ++epoch) {
    model->train();
    data.train_loader.set_epoch(epoch);
    examples::ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs),
                              static_cast<int64_t>(data.train_loader.num_batches()));
    examples::RunningStats stats;
    for (size_t b = 0; b < data.train_loader.num_batches(); ++b) {
      data::Batch batch = data.train_loader.batch(b);
      Tensor logits = (*model)(batch.images);
      Tensor loss = criterion(logits, batch.labels);
      opt.zero_grad();
      loss.backward();
      opt.step();
      stats.add(loss, logits, batch.labels);
      bar.update(static_cast<int64_t>(b) + 1, stats.loss(), stats.accuracy(), stats.seen);
    }
    bar.finish();
    schedule.step(opt);
    log.epoch(epoch + 1, stats, examples::evaluate(*model, data.test_loader, 10), bar.seconds());
    if (flags.given("save"))
      nn::save_checkpoint(flags.str("save"), *model, &opt, {.epoch = epoch + 1}, {{"arch", arch}});
  }
  log.finish(flags.str("metrics-json"), flags.str("save"));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "mnist_cnn: %s\n", e.what());
  return 1;
}
