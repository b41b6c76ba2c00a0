#include "examples/common/task.h"

#include "core/atomic_file.h"
#include "core/autograd.h"
#include "core/ops/loss.h"
#include "core/ops/reduce.h"
#include "core/threads.h"
#include "datasets/cifar10.h"
#include "datasets/mnist.h"

namespace qgrad::examples {

data::Dataset load_dataset(const std::string& name, const std::string& dir, data::Split split) {
  if (name == "mnist") return data::MNIST(dir, split);
  if (name == "cifar10") return data::CIFAR10(dir, split);
  fail("load_dataset", "unknown data set '", name, "' (known: mnist, cifar10)");
}

data::DataLoaderOptions loader_options(const std::string& name, int64_t batch_size) {
  data::DataLoaderOptions o{.batch_size = batch_size};
  if (name == "mnist") {
    o.mean = {0.1307f};
    o.std = {0.3081f};
  } else {
    o.mean = {0.4914f, 0.4822f, 0.4465f};
    o.std = {0.2470f, 0.2435f, 0.2616f};
  }
  return o;
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
    data::Batch batch = loader.batch(b);
    Tensor logits = model(batch.images);
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
  ev.accuracy = seen ? static_cast<double>(correct) / seen : 0;
  ev.loss = seen ? loss_sum / seen : 0;
  return ev;
}

int apply_threads(int64_t threads) {
  if (threads > 0) set_num_threads(static_cast<int>(threads));
  return get_num_threads();
}

void write_json(const std::string& path, const nlohmann::json& json) {
  if (path.empty()) return;
  write_file_atomically(path, json.dump(2) + "\n");
}

}  // namespace qgrad::examples
