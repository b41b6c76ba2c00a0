// cifar_cnn: trains a small CNN with BatchNorm on CIFAR-10 (--arch: the VGG-style cifar_cnn or
// the depthwise-separable mobilenet, examples/common/models.h), with random-crop and
// horizontal-flip augmentation, SGD + Nesterov momentum + weight decay, and a linear warm-up
// followed by a cosine learning-rate decay.
//   build/examples/cifar_cnn --epochs 30 --save cifar.safetensors --metrics-json cifar.json
// Like mnist_cnn, the whole program is here: flags, data, model, the training loop, evaluation,
// checkpoint and metrics; examples/common holds the plumbing.
#include <algorithm>
#include <cstdio>
#include <exception>

#include "examples/common/cli.h"
#include "examples/common/finite.h"
#include "examples/common/models.h"
#include "examples/common/progress.h"
#include "examples/common/task.h"
#include "datasets/cifar10.h"
#include "nn/nn.h"

using namespace qgrad;

int main(int argc, char** argv) try {
  CLI::App app{"cifar_cnn: trains a small CNN with BatchNorm on CIFAR-10 (augmentation, SGD + Nesterov "
               "momentum + weight decay, warm-up then cosine learning-rate decay)"};
  examples::TrainingFlags flags{.epochs = 30, .batch_size = 128, .lr = 0.05};
  examples::add_training_flags(app, flags, "cifar10");
  std::string arch = "cifar_cnn";
  double momentum = 0.9, weight_decay = 5e-4;
  int64_t warmup = 2;
  app.add_option("--arch", arch, "model: cifar_cnn (VGG-style) or mobilenet (depthwise-separable)")
      ->check(CLI::IsMember({"cifar_cnn", "mobilenet"}));
  app.add_option("--momentum", momentum, "SGD (Nesterov) momentum")->check(examples::number_in(0, 1, examples::Open::High));
  app.add_option("--weight-decay", weight_decay, "L2 penalty on the weights")->check(examples::number_in(0, 1));
  app.add_option("--warmup", warmup, "epochs of linear learning-rate warm-up before the cosine decay")
      ->check(examples::integer_in(0, 1'000'000));
  examples::parse(app, argc, argv);
  const int threads = examples::apply(flags.runtime);
  const Device device = examples::device(flags.runtime);  // --device cpu|cuda

  // Data: the training images (all, or --limit-train of them evenly spaced), reshuffled and
  // augmented every epoch (random 32x32 crop of the image padded by 4, random horizontal flip),
  // and the 10,000 test images as they are; both normalized with the training set's statistics.
  const data::Dataset train_set = data::CIFAR10(flags.data, data::Split::Train)
                                      .evenly_spaced(flags.limit_train > 0 ? static_cast<size_t>(flags.limit_train) : SIZE_MAX);
  const data::Dataset test_set = data::CIFAR10(flags.data, data::Split::Test);
  data::DataLoaderOptions train_options = examples::loader_options(train_set, flags.batch_size);
  train_options.shuffle = true;
  train_options.seed = flags.seed;
  train_options.crop_padding = 4;
  train_options.random_flip = true;
  data::DataLoader train_loader(train_set, train_options);
  data::DataLoader test_loader(test_set, examples::loader_options(test_set, 500));

  // Model, loss, optimizer; the learning rate rises linearly over --warmup epochs, then decays
  // to 0 (cosine) over the rest.
  auto model = examples::make_model(arch, flags.seed);
  model->to(device);  // parameters, and the optimizer's state after them, live where the model runs
  nn::CrossEntropyLoss criterion;
  optim::SGD opt(model->parameters(), {.lr = static_cast<float>(flags.lr), .momentum = static_cast<float>(momentum),
                                       .nesterov = true, .weight_decay = static_cast<float>(weight_decay)});
  optim::LinearWarmup schedule({.warmup = warmup},
                               optim::CosineAnnealing({.base_lr = static_cast<float>(flags.lr),
                                                       .t_max = std::max<int64_t>(1, flags.epochs - warmup)}));
  const int64_t first_epoch = examples::resume(flags.resume, *model, opt, flags.epochs);
  schedule.set_t(first_epoch);
  schedule.apply(opt);
  std::printf("%s on %s: %zu train / %zu test images, %lld parameters, %d thread(s)\n", arch.c_str(),
              train_set.name().c_str(), train_set.size(), test_set.size(),
              static_cast<long long>(model->num_parameters()), threads);

  examples::TrainingLog log("cifar_cnn", arch, {{"threads", threads}, {"seed", flags.seed},
                            {"batch_size", flags.batch_size}, {"lr", flags.lr}});
  for (int64_t epoch = first_epoch + 1; epoch <= flags.epochs; ++epoch) {
    model->train();
    train_loader.set_epoch(static_cast<uint64_t>(epoch - 1));  // the shuffle's and augmentation's seed
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
  std::fprintf(stderr, "cifar_cnn: %s\n", e.what());
  return 1;
}
