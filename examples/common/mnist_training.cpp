#include "examples/common/mnist_training.h"

#include <cstdio>
#include <exception>

#include "examples/common/cli.h"
#include "examples/common/models.h"
#include "examples/common/task.h"
#include "examples/common/train.h"
#include "nn/nn.h"

namespace qgrad::examples {

int run_mnist_training(const std::string& program, const std::string& arch, double default_lr, int argc,
                       char** argv) try {
  Flags flags = training_flags("data/mnist", 3, 64, default_lr);
  flags.add("momentum", "0.9", "SGD momentum").add("resume", "", "continue from this checkpoint");
  flags.parse(argc, argv);
  const int threads = apply_threads(flags.integer("threads"));
  const auto seed = static_cast<uint64_t>(flags.integer("seed"));
  const int64_t epochs = flags.integer("epochs"), batch_size = flags.integer("batch-size");
  const auto lr = static_cast<float>(flags.real("lr")), momentum = static_cast<float>(flags.real("momentum"));

  ClassifierData data({.dataset = "mnist", .dir = flags.str("data"), .batch_size = batch_size, .seed = seed,
                       .limit_train = flags.integer("limit-train")});
  auto model = make_model(arch, seed);
  optim::SGD opt(model->parameters(), {.lr = lr, .momentum = momentum});
  optim::CosineAnnealing schedule({.base_lr = lr, .t_max = epochs});  // lr decays to 0 by the end
  int64_t first_epoch = 0;
  if (flags.given("resume")) first_epoch = nn::load_checkpoint(flags.str("resume"), *model, &opt).training.epoch;
  schedule.set_t(first_epoch);
  schedule.apply(opt);
  std::printf("%s on %s: %zu train / %zu test images, %lld parameters, %d thread(s)\n", arch.c_str(),
              data.train_set.name().c_str(), data.train_set.size(), data.test_set.size(), static_cast<long long>(model->num_parameters()), threads);

  TrainingLog log(program, arch, {{"threads", threads}, {"seed", seed}, {"batch_size", batch_size}, {"lr", lr}});
  for (int64_t epoch = first_epoch; epoch < epochs; ++epoch) {
    EpochResult trained = train_epoch(*model, data.train_loader, opt, epoch, epochs);
    schedule.step(opt);
    log.epoch(epoch + 1, trained.stats, evaluate(*model, data.test_loader, 10), trained.seconds);
    if (flags.given("save"))
      nn::save_checkpoint(flags.str("save"), *model, &opt, {.epoch = epoch + 1}, {{"arch", arch}});
  }
  log.finish(flags.str("metrics-json"), flags.str("save"));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
  return 1;
}

}  // namespace qgrad::examples
