// MNIST handwritten digits from the original IDX files (plain or .gz), 1x28x28, labels 0..9.
//
// IDX layout (all header integers big-endian uint32):
//   images: magic 2051 (0x00000803: ubyte data, 3 dims), count N, rows H, cols W, then N*H*W bytes
//   labels: magic 2049 (0x00000801: ubyte data, 1 dim),  count N, then N bytes
// Every field is checked; errors name the file and what was wrong.
#pragma once
#include <string>

#include "datasets/dataset.h"

namespace qgrad::data {

class MNIST : public Dataset {
 public:
  // dir holds train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz]
  // and t10k-labels-idx1-ubyte[.gz] (`make data` puts them in data/mnist). The unpacked file wins
  // when both forms are present, since it reads faster.
  MNIST(const std::string& dir, Split split);
};

}  // namespace qgrad::data
