// cifar_cnn: trains a small CNN with BatchNorm on CIFAR-10 (--arch: the VGG-style cifar_cnn or
// the depthwise-separable mobilenet, examples/common/models.h), with random-crop and
// horizontal-flip augmentation, SGD + Nesterov momentum + weight decay, and a linear warm-up
// followed by a cosine learning-rate decay. The training loop is examples/common/train.cpp.
//   build/examples/cifar_cnn --epochs 30 --save cifar.safetensors --metrics-json cifar.json
#include <cstdio>
#include <exception>

#include "core/error.h"
#include "examples/common/cli.h"
#include "examples/common/models.h"
#include "examples/common/task.h"
#include "examples/common/train.h"
#include "nn/nn.h"

using namespace qgrad;

int main(int argc, char** argv) try {
  examples::Flags flags = examples::training_flags("data/cifar10", 30, 128, 0.05);
  flags.add("arch", "cifar_cnn", "model: cifar_cnn (VGG-style) or mobilenet (depthwise-separable)")
      .add("momentum", "0.9", "SGD (Nesterov) momentum")
      .add("weight-decay", "5e-4", "L2 penalty on the weights")
      .add("warmup", "2", "epochs of linear learning-rate warm-up before the cosine decay")
      .add("resume", "", "continue from this checkpoint");
  flags.parse(argc, argv);
  const std::string arch = flags.str("arch");
  check(arch == "cifar_cnn" || arch == "mobilenet", "cifar_cnn", "--arch must be cifar_cnn or mobilenet, got '",
        arch, "'");
  const int threads = examples::apply_threads(flags.integer("threads"));
  const auto seed = static_cast<uint64_t>(flags.integer("seed"));
  const int64_t epochs = flags.integer("epochs"), warmup = flags.integer("warmup");
  const auto lr = static_cast<float>(flags.real("lr")), momentum = static_cast<float>(flags.real("momentum"));
  const auto weight_decay = static_cast<float>(flags.real("weight-decay"));
  const int64_t batch_size = flags.integer("batch-size");

  examples::ClassifierData data({.dataset = "cifar10", .dir = flags.str("data"),
                                 .batch_size = batch_size, .seed = seed,
                                 .limit_train = flags.integer("limit-train"), .augment = true});
  auto model = examples::make_model(arch, seed);
  optim::SGD opt(model->parameters(), {.lr = lr, .momentum = momentum, .nesterov = true,
                                       .weight_decay = weight_decay});
  optim::LinearWarmup schedule({.warmup = warmup},
                               optim::CosineAnnealing({.base_lr = lr, .t_max = std::max<int64_t>(1, epochs - warmup)}));
  int64_t first_epoch = 0;
  if (flags.given("resume")) first_epoch = nn::load_checkpoint(flags.str("resume"), *model, &opt).training.epoch;
  schedule.set_t(first_epoch);
  schedule.apply(opt);
  std::printf("%s on CIFAR-10: %zu train / %zu test images, %lld parameters, %d thread(s)\n", arch.c_str(),
              data.train_set.size(), data.test_set.size(), static_cast<long long>(model->num_parameters()), threads);

  examples::TrainingLog log("cifar_cnn", arch, {{"threads", threads}, {"seed", seed},
                            {"batch_size", batch_size}, {"lr", lr}});
  for (int64_t epoch = first_epoch; epoch < epochs; ++epoch) {
    examples::EpochResult trained = examples::train_epoch(*model, data.train_loader, opt, epoch, epochs);
    schedule.step(opt);
    log.epoch(epoch + 1, trained.stats, examples::evaluate(*model, data.test_loader, 10), trained.seconds);
    if (flags.given("save"))
      nn::save_checkpoint(flags.str("save"), *model, &opt, {.epoch = epoch + 1}, {{"arch", arch}});
  }
  log.finish(flags.str("metrics-json"), flags.str("save"));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "cifar_cnn: %s\n", e.what());
  return 1;
}
