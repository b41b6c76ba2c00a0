// MNIST handwritten digits from the original IDX files (plain or .gz), 1x28x28, labels 0..9.
//
// IDX layout (all header integers big-endian uint32):
//   images: magic 2051 (0x00000803: ubyte data, 3 dims), count N, rows H, cols W, then N*H*W bytes
//   labels: magic 2049 (0x00000801: ubyte data, 1 dim),  count N, then N bytes
// Every field is checked; errors name the file and what was wrong.
//
// Other data sets ship in the same files and format (Fashion-MNIST, KMNIST, the MNIST-like EMNIST
// splits), so nothing in the files says which one a folder holds: the data set is named after its
// folder (Dataset::name(), "fashion-mnist" for data/fashion-mnist), and its normalization is
// computed from its own training images (channel_statistics; for MNIST itself the familiar mean
// 0.1307, std 0.3081), never assumed to be MNIST's.
#pragma once
#include <string>

#include "datasets/dataset.h"

namespace qgrad::data {

class MNIST : public Dataset {
 public:
  // dir holds train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz]
  // and t10k-labels-idx1-ubyte[.gz] (`make data` puts them in data/mnist). The unpacked file wins
  // when both forms are present, since it reads faster. The test split reads the training
  // images too, for the normalization (none when the folder lacks them).
  MNIST(const std::string& dir, Split split);
};

}  // namespace qgrad::data
