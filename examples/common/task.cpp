#include "examples/common/task.h"

#include <chrono>
#include <cstdio>

#include "core/atomic_file.h"
#include "core/autograd.h"
#include "core/ops/loss.h"
#include "core/ops/reduce.h"
#include "datasets/cifar10.h"
#include "datasets/mnist.h"
#include "examples/common/finite.h"
#include "nn/checkpoint.h"

namespace qgrad::examples {

data::Dataset load_dataset(const std::string& name, const std::string& dir, data::Split split) {
  if (name == "mnist") return data::MNIST(dir, split);
  if (name == "cifar10") return data::CIFAR10(dir, split);
  fail("load_dataset", "unknown data set '", name, "' (known: mnist, cifar10)");
}

data::DataLoaderOptions loader_options(const data::Dataset& set, int64_t batch_size) {
  check(!set.normalization().mean.empty(), "loader_options", "data set '", set.name(),
        "' has no normalization: its folder lacks the training images it is computed from");
  return {.batch_size = batch_size, .mean = set.normalization().mean, .std = set.normalization().std};
}

namespace {

data::DataLoaderOptions train_options(const data::Dataset& set, const ClassifierData::Options& o) {
  data::DataLoaderOptions t = loader_options(set, o.batch_size);
  t.shuffle = true;
  t.seed = o.seed;
  if (o.augment) {
    t.crop_padding = 4;
    t.random_flip = true;
  }
  return t;
}

}  // namespace

ClassifierData::ClassifierData(const Options& o)
    : train_set(load_dataset(o.dataset, o.dir, data::Split::Train)
                    .evenly_spaced(o.limit_train > 0 ? static_cast<size_t>(o.limit_train) : SIZE_MAX)),
      test_set(load_dataset(o.dataset, o.dir, data::Split::Test)),
      train_loader(train_set, train_options(train_set, o)),
      test_loader(test_set, loader_options(test_set, 500)) {}

int64_t count_correct(const Tensor& logits, const Tensor& labels) {
  std::vector<int32_t> pred = argmax(logits, 1).to_vector<int32_t>();
  std::vector<int32_t> truth = labels.to_vector<int32_t>();
  int64_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == truth[i];
  return correct;
}

Evaluation evaluate(nn::Module& model, const data::DataLoader& loader, int64_t num_classes) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  Evaluation ev;
  ev.confusion.assign(num_classes, std::vector<int64_t>(num_classes, 0));
  int64_t correct = 0, seen = 0;
  double loss_sum = 0;
  for (size_t b = 0; b < loader.num_batches(); ++b) {
    data::Batch batch = loader.batch(b).to(model.device());  // a GPU model gets GPU batches
    const auto start = std::chrono::steady_clock::now();
    Tensor logits = model(batch.images);
    ev.forward_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The confusion matrix is indexed by prediction: a model with more outputs than the data set
    // has classes would write past it, so that is an error before anything is counted.
    check(logits.dim() == 2 && logits.size(1) == num_classes, "evaluate", "the model outputs ",
          shape_str(logits.shape()), " for a batch of ", batch.labels.numel(), " images, but the data set has ",
          num_classes, " classes: the model was not made for this data set");
    const int64_t n = batch.labels.numel();
    loss_sum += cross_entropy(logits, batch.labels).item() * static_cast<double>(n);
    std::vector<int32_t> pred = argmax(logits, 1).to_vector<int32_t>();
    std::vector<int32_t> truth = batch.labels.to_vector<int32_t>();
    for (int64_t i = 0; i < n; ++i) {
      correct += pred[i] == truth[i];
      ev.confusion[truth[i]][pred[i]] += 1;
    }
    seen += n;
  }
  model.train(was_training);
  check(seen > 0, "evaluate", "the test set is empty: there are no images to evaluate on");
  ev.images = seen;
  ev.accuracy = seen ? static_cast<double>(correct) / seen : 0;
  ev.loss = seen ? loss_sum / seen : 0;
  return ev;
}

void RunningStats::add(const Tensor& loss, const Tensor& logits, const Tensor& labels) {
  const int64_t n = labels.numel();
  loss_sum += loss.item() * static_cast<double>(n);
  correct += count_correct(logits, labels);
  seen += n;
}

TrainingLog::TrainingLog(const std::string& program, const std::string& arch, nlohmann::json settings)
    : arch_(arch), json_(std::move(settings)) {
  json_["program"] = program;
  json_["arch"] = arch;
  json_["epochs"] = nlohmann::json::array();
}

void TrainingLog::epoch(int64_t epoch, const RunningStats& train, const Evaluation& test, double seconds) {
  check(train.seen > 0, "training", "the training set is empty: epoch ", epoch, " had no samples to train on");
  const double rate = seconds > 0 ? train.seen / seconds : 0;
  std::printf("epoch %lld: loss %.4f  train acc %.2f%%  test acc %.2f%%  %.1fs  %.0f samples/s\n",
              static_cast<long long>(epoch), train.loss(), 100.0 * train.accuracy(), 100.0 * test.accuracy,
              seconds, rate);
  std::fflush(stdout);
  json_["epochs"].push_back({{"epoch", epoch}, {"loss", train.loss()}, {"train_accuracy", train.accuracy()},
                             {"test_accuracy", test.accuracy}, {"test_loss", test.loss},
                             {"seconds", seconds}, {"samples_per_second", rate}});
  last_test_accuracy_ = test.accuracy;
  epochs_ = epoch;
}

void TrainingLog::finish(const std::string& path, const std::string& saved_to) {
  check(epochs_ > 0, "training", "no epoch was trained");
  json_["test_accuracy"] = last_test_accuracy_;
  write_json(path, json_);
  std::printf("final: %s test accuracy %.2f%% after %lld epoch(s)%s%s\n", arch_.c_str(),
              100.0 * last_test_accuracy_, static_cast<long long>(epochs_),
              saved_to.empty() ? "" : ", saved to ", saved_to.c_str());
}

int64_t resume(const std::string& path, nn::Module& model, optim::Optimizer& opt, int64_t epochs) {
  if (path.empty()) return 0;
  const int64_t done = nn::load_checkpoint(path, model, &opt).training.epoch;
  check(done < epochs, "resume", path, " was saved after epoch ", done, " and --epochs is ", epochs,
        ": nothing to train (raise --epochs to train further; `evaluate --model ", path, "` scores it)");
  return done;
}

void save_training_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& opt,
                              int64_t epoch, const std::string& arch) {
  require_finite(model.state_dict(), cat("the model after epoch ", epoch, " (not saved to ", path, ")"));
  nn::save_checkpoint(path, model, &opt, {.epoch = epoch}, {{"arch", arch}});
}

void write_json(const std::string& path, const nlohmann::json& json) {
  if (path.empty()) return;
  write_file_atomically(path, json.dump(2) + "\n");
}

}  // namespace qgrad::examples
