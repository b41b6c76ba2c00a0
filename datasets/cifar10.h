// CIFAR-10: 60,000 32x32 RGB images in 10 classes (50,000 train, 10,000 test).
//
// Two on-disk layouts are understood, looked for under the given directory in this order:
//   1. the official binary release, cifar-10-batches-bin/data_batch_{1..5}.bin (train) and
//      test_batch.bin (test): records of 1 label byte + 3072 pixel bytes (R, G, B planes of
//      32x32, row-major), which is already the dataset's C x H x W layout;
//   2. an image-folder copy, train/<class>/*.jpg and test/<class>/*.jpg (the offline mirror's
//      form; JPEG, so pixels differ slightly from the official files).
// The binary release wins when both are present because its pixels are the exact originals.
// Labels follow the official class order: airplane, automobile, bird, ..., truck.
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace qgrad::data {

const std::vector<std::string>& cifar10_classes();

// The official training set's per-channel mean and std (R, G, B), the normalization a CIFAR10
// data set carries (Dataset::normalization()). Fixed rather than computed, since computing it
// from the JPEG mirror would mean decoding all 50,000 training images for every test run.
Normalization cifar10_normalization();

class CIFAR10 : public Dataset {
 public:
  CIFAR10(const std::string& dir, Split split);  // `make data` fills data/cifar10
};

}  // namespace qgrad::data
