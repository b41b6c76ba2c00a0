#include "examples/common/train.h"

#include <string>

#include "examples/common/progress.h"
#include "nn/loss.h"

namespace qgrad::examples {

EpochResult train_epoch(nn::Module& model, data::DataLoader& loader, optim::Optimizer& opt, int64_t epoch,
                        int64_t epochs, optim::LRSchedule* per_step) {
  model.train();
  loader.set_epoch(static_cast<uint64_t>(epoch));
  ProgressBar bar("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs),
                  static_cast<int64_t>(loader.num_batches()));
  nn::CrossEntropyLoss criterion;
  EpochResult result;
  for (size_t b = 0; b < loader.num_batches(); ++b) {
    data::Batch batch = loader.batch(b);
    Tensor logits = model(batch.images);
    Tensor loss = criterion(logits, batch.labels);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (per_step) per_step->step(opt);
    result.stats.add(loss, logits, batch.labels);
    bar.update(static_cast<int64_t>(b) + 1, result.stats.loss(), result.stats.accuracy(), result.stats.seen);
  }
  bar.finish();
  result.seconds = bar.seconds();
  return result;
}

}  // namespace qgrad::examples
