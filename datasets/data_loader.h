// DataLoader: cuts a Dataset into batches of float tensors for training and evaluation.
//
//   images: float32 [B, C, H, W], (pixel/255 - mean[c]) / std[c], optionally augmented
//   labels: int32 [B]
//   B = batch size (the last batch may be smaller unless drop_last), C, H, W = image shape
//
// Shuffling is a Fisher–Yates permutation drawn from a Generator seeded by (seed, epoch), so an
// epoch's order depends only on those two numbers: rerunning a program replays it exactly, and
// every epoch differs. Augmentation draws come from a generator seeded by (seed, epoch, batch),
// so batch(b) gives the same tensors however often and in whatever order it is called.
//
//   DataLoader loader(train_set, {.batch_size = 64, .shuffle = true, .seed = 1});
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     loader.set_epoch(epoch);
//     for (size_t b = 0; b < loader.num_batches(); ++b) {
//       Batch batch = loader.batch(b);
//       ...
//     }
//   }
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "datasets/dataset.h"

namespace qgrad::data {

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;
  bool drop_last = false;  // drop the final batch when it is smaller than batch_size
  uint64_t seed = 0;
  // Per-channel normalization in [0, 1] pixel units; empty = mean 0 / std 1 (plain x/255).
  std::vector<float> mean = {};
  std::vector<float> std = {};
  // Augmentation (training only): pad by crop_padding zero pixels and cut a random window of the
  // original size; mirror left-right with probability 1/2. CIFAR-10's usual recipe: 4 and true.
  int64_t crop_padding = 0;
  bool random_flip = false;
};

struct Batch {
  Tensor images;  // float32 [B, C, H, W]
  Tensor labels;  // int32 [B]
  // Both tensors copied to `device` (this batch itself when already there): batches are built
  // on the host, a GPU training loop moves each one over with batch.to(Device::CUDA).
  Batch to(Device device) const { return {images.to(device), labels.to(device)}; }
};

class DataLoader {
 public:
  // The loader keeps a reference: dataset must outlive it (a temporary is refused at compile time).
  DataLoader(const Dataset& dataset, DataLoaderOptions options);
  DataLoader(Dataset&&, DataLoaderOptions) = delete;

  void set_epoch(uint64_t epoch);  // reshuffles (when shuffle) deterministically; starts at 0
  size_t num_batches() const;
  Batch batch(size_t b) const;  // b < num_batches()
  // Dataset indices in this epoch's order (batch b holds order()[b*B .. b*B+B)).
  const std::vector<size_t>& order() const { return order_; }

 private:
  const Dataset& dataset_;
  DataLoaderOptions options_;
  std::vector<float> mean_, inv_std_;  // one per channel
  uint64_t epoch_ = 0;
  std::vector<size_t> order_;
};

}  // namespace qgrad::data
