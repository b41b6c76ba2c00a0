// Dataset: a labelled set of equally sized uint8 images held in memory, the one shape every
// loader (MNIST, CIFAR10, ImageFolder) produces and the DataLoader consumes.
//
// All images live in one contiguous buffer, image i at pixels[i * C*H*W], each stored planar
// (channel-major, "CHW"): element (c, y, x) at c*H*W + y*W + x, the layout a [B, C, H, W]
// tensor needs, so batching is a copy plus a conversion to float.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qgrad::data {

enum class Split { Train, Test };

// C = channels, H = height, W = width.
struct ImageShape {
  int64_t channels = 0, height = 0, width = 0;
  int64_t numel() const { return channels * height * width; }
  bool operator==(const ImageShape&) const = default;
};

std::string shape_str(const ImageShape& s);  // "3x32x32" (C x H x W)

// Per-channel normalization in [0, 1] pixel units, x = (p / 255 - mean[c]) / std[c] (what the
// DataLoader applies); both empty = none (plain p / 255).
struct Normalization {
  std::vector<float> mean, std;
};

// One example: a view of C*H*W bytes inside the dataset's buffer, and its class index.
struct Sample {
  const uint8_t* pixels;
  int32_t label;
};

class Dataset {
 public:
  // Takes ownership of the buffers; checks that they agree (pixels.size() == labels.size()
  // * shape.numel(), every label < classes.size()). Loaders build one of these; tests and
  // programs with data of their own can too.
  Dataset(ImageShape shape, std::vector<uint8_t> pixels, std::vector<int32_t> labels,
          std::vector<std::string> classes);
  virtual ~Dataset() = default;
  Dataset(Dataset&&) = default;
  Dataset& operator=(Dataset&&) = default;

  size_t size() const { return labels_.size(); }
  const ImageShape& shape() const { return shape_; }
  Sample get(size_t i) const;  // bounds-checked
  // A copy holding n samples at evenly spaced indices (i * size() / n), all of them when
  // n >= size(). Spread, not the first n: files sorted by class (an image folder) would
  // otherwise give a subset of one class. For --limit-train.
  Dataset evenly_spaced(size_t n) const;
  const std::vector<int32_t>& labels() const { return labels_; }
  const std::vector<std::string>& classes() const { return classes_; }  // label -> name

  // What the data set is called in reports: the loaders use the name of the folder it was read
  // from ("mnist", "fashion-mnist", "kmnist": IDX sets share MNIST's file names and format, so
  // the folder is what tells them apart). Empty for a data set built in memory.
  const std::string& name() const { return name_; }
  // The normalization a model trained on this data set is fed: the loaders set their training
  // split's statistics (channel_statistics), on the test split too. Empty for a data set built
  // in memory until set.
  const Normalization& normalization() const { return normalization_; }
  void set_name(std::string name) { name_ = std::move(name); }
  // One finite mean and positive std per channel, or both empty (none).
  void set_normalization(Normalization normalization);

 private:
  ImageShape shape_;
  std::vector<uint8_t> pixels_;
  std::vector<int32_t> labels_;
  std::vector<std::string> classes_;
  std::string name_;
  Normalization normalization_;
};

// The mean and (population) standard deviation of each channel of set's pixels / 255, over every
// image: mean[c] = E[p/255], std[c] = sqrt(E[(p/255)^2] - mean[c]^2), from an exact 256-bin
// count of the byte values per channel. Fails on an empty set or a channel of one constant value
// (std 0 cannot normalize).
Normalization channel_statistics(const Dataset& set);

// The last component of a folder path, ignoring a trailing '/' and resolving "." and "..":
// "data/fashion-mnist/" -> "fashion-mnist". The loaders name their data sets with it.
std::string folder_name(const std::string& dir);

}  // namespace qgrad::data
