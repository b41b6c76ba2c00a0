#include "datasets/data_loader.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/random.h"
#include "datasets/transforms.h"

namespace qgrad::data {
namespace {

// splitmix64's finalizer: spreads nearby inputs (seed 1 epoch 0 vs seed 0 epoch 1) far apart, so
// combining seeds never makes two streams share a generator seed by accident.
uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9e3779b97f4a7c15ULL + b + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t kShuffleStream = 1, kAugmentStream = 2;

std::vector<float> per_channel(const std::vector<float>& v, float fallback, int64_t channels, const char* what) {
  if (v.empty()) return std::vector<float>(static_cast<size_t>(channels), fallback);
  check(static_cast<int64_t>(v.size()) == channels, "DataLoader", what, " has ", v.size(),
        " values but the images have ", channels, " channels");
  return v;
}

}  // namespace

DataLoader::DataLoader(const Dataset& dataset, DataLoaderOptions options)
    : dataset_(dataset), options_(std::move(options)) {
  const DataLoaderOptions& o = options_;
  check(o.batch_size > 0, "DataLoader", "batch_size must be > 0, got ", o.batch_size);
  check(o.crop_padding >= 0, "DataLoader", "crop_padding must be >= 0, got ", o.crop_padding);
  const int64_t channels = dataset_.shape().channels;
  mean_ = per_channel(o.mean, 0.f, channels, "mean");
  std::vector<float> stdev = per_channel(o.std, 1.f, channels, "std");
  for (float s : stdev) {
    check(s > 0.f, "DataLoader", "std values must be > 0, got ", s);
    inv_std_.push_back(1.f / s);
  }
  set_epoch(0);
}

void DataLoader::set_epoch(uint64_t epoch) {
  epoch_ = epoch;
  order_.resize(dataset_.size());
  std::iota(order_.begin(), order_.end(), size_t{0});
  if (!options_.shuffle) return;
  Generator gen(mix(mix(options_.seed, kShuffleStream), epoch));
  for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[gen.below(i)]);
}

size_t DataLoader::num_batches() const {
  const size_t n = dataset_.size(), bs = static_cast<size_t>(options_.batch_size);
  return options_.drop_last ? n / bs : (n + bs - 1) / bs;
}

Batch DataLoader::batch(size_t b) const {
  check(b < num_batches(), "DataLoader::batch", "batch ", b, " out of range for ", num_batches(), " batches");
  const size_t bs = static_cast<size_t>(options_.batch_size);
  const size_t first = b * bs, count = std::min(bs, order_.size() - first);
  const ImageShape& s = dataset_.shape();

  Batch out{empty({static_cast<int64_t>(count), s.channels, s.height, s.width}),
            empty({static_cast<int64_t>(count)}, DType::Int32)};
  float* images = out.images.data<float>();
  int32_t* labels = out.labels.data<int32_t>();
  Generator gen(mix(mix(mix(options_.seed, kAugmentStream), epoch_), b));
  for (size_t i = 0; i < count; ++i) {
    const Sample sample = dataset_.get(order_[first + i]);
    const Placement where = random_placement(gen, options_.crop_padding, options_.random_flip);
    normalize_image(sample.pixels, s, options_.crop_padding, where, mean_, inv_std_,
                    images + i * static_cast<size_t>(s.numel()));
    labels[i] = sample.label;
  }
  return out;
}

}  // namespace qgrad::data
