// What the example programs share besides the training loop itself (which each main.cpp writes
// out in full): the data sets and loaders, evaluation, running statistics, and the per-epoch
// report (printed, and kept as JSON for the notebooks).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/data_loader.h"
#include "datasets/dataset.h"
#include "nn/module.h"
#include "nn/optim/optimizer.h"

namespace qgrad::examples {

// MNIST or CIFAR-10 from dir (see --data), one split.
data::Dataset load_dataset(const std::string& name, const std::string& dir, data::Split split);
// Batches normalized by set's own normalization() (its training split's statistics).
data::DataLoaderOptions loader_options(const data::Dataset& set, int64_t batch_size);

// A data set's train and test splits with their loaders. Not copyable: the loaders refer to
// the data sets inside the same object.
struct ClassifierData {
  struct Options {
    std::string dataset;  // "mnist" or "cifar10"
    std::string dir;
    int64_t batch_size = 64;
    uint64_t seed = 0;
    int64_t limit_train = 0;  // 0: all
    bool augment = false;     // random crop (padding 4) and horizontal flip
  };
  explicit ClassifierData(const Options& options);
  ClassifierData(const ClassifierData&) = delete;
  ClassifierData& operator=(const ClassifierData&) = delete;

  data::Dataset train_set, test_set;
  data::DataLoader train_loader, test_loader;
};

// Number of rows of logits [N, C] whose argmax equals labels [N] (int32).
int64_t count_correct(const Tensor& logits, const Tensor& labels);

struct Evaluation {
  double accuracy = 0;
  double loss = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
  int64_t images = 0;
  double forward_seconds = 0;  // time in model(images) only, not in loading or scoring
  double images_per_second() const { return forward_seconds > 0 ? images / forward_seconds : 0; }
};

// Runs model in eval mode without a graph over the whole loader; restores the mode after.
// An empty loader is an error (an accuracy of 0% over no images would look like a result).
Evaluation evaluate(nn::Module& model, const data::DataLoader& loader, int64_t num_classes);

// Running mean loss and accuracy over an epoch's batches.
struct RunningStats {
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  void add(const Tensor& loss, const Tensor& logits, const Tensor& labels);
  double loss() const { return seen ? loss_sum / seen : 0; }
  double accuracy() const { return seen ? static_cast<double>(correct) / seen : 0; }
};

// Prints each epoch's line and the final summary, and keeps them as JSON.
class TrainingLog {
 public:
  TrainingLog(const std::string& program, const std::string& arch, nlohmann::json settings);
  // Fails when the epoch saw no training samples (an empty training set).
  void epoch(int64_t epoch, const RunningStats& train, const Evaluation& test, double seconds);
  // Prints the summary line (with ", saved to <saved_to>" unless it is empty) and writes the
  // JSON to path (atomically; nothing when path is empty). Fails when no epoch was logged.
  void finish(const std::string& path, const std::string& saved_to);

 private:
  std::string arch_;
  nlohmann::json json_;
  double last_test_accuracy_ = 0;
  int64_t epochs_ = 0;
};

// --resume: loads the checkpoint at path into model and opt and returns the number of epochs it
// was trained for (0, doing nothing, when path is empty). Fails when that is already `epochs`
// or more: there would be nothing to train.
int64_t resume(const std::string& path, nn::Module& model, optim::Optimizer& opt, int64_t epochs);

// --save after epoch (1-based): the weights, the optimizer state, the epoch and the
// architecture ("arch", which evaluate and the quantization programs rebuild the model from).
// Refuses weights holding a NaN or infinity, so a diverged run never replaces a good file.
void save_training_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& opt,
                              int64_t epoch, const std::string& arch);

// Writes json to path atomically (no-op when path is empty).
void write_json(const std::string& path, const nlohmann::json& json);

}  // namespace qgrad::examples
