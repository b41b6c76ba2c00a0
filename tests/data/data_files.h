// Test helpers for the data tests: a scratch directory that cleans up after itself, and writers
// for the file formats the loaders read (raw bytes, gzip, PNG, JPEG), so every test builds its
// own small input files with known content.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace qgrad::testing {

class TempDir {
 public:
  TempDir();  // a fresh directory under the system temp folder
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& str() const { return root_; }
  std::string operator/(const std::string& relative) const { return root_ + "/" + relative; }

 private:
  std::string root_;
};

std::vector<uint8_t> read_bytes(const std::string& path);  // the raw bytes, no gunzipping

// The folder holding real MNIST's .gz files: $QGRAD_DATA_MIRROR/mnist when that variable is set,
// else the repository's data/mnist (filled by `make data`); "" when it holds no MNIST.
std::string real_mnist_dir();

// Each writer creates the missing parent folders of path.
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes);  // through zlib's gz* API
// chw holds shape.numel() bytes, planar (C x H x W), as the datasets store images.
void write_png(const std::string& path, const data::ImageShape& shape, const std::vector<uint8_t>& chw);
void write_jpg(const std::string& path, const data::ImageShape& shape, const std::vector<uint8_t>& chw);

}  // namespace qgrad::testing
