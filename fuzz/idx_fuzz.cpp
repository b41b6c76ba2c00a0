// Fuzz target: data::MNIST on an arbitrary pair of IDX files. The input is split in two at a
// point given by its first 4 bytes (big-endian; scripts/fuzz_corpus.sh writes the seeds this
// way): t10k-images-idx3-ubyte gets the first part, t10k-labels-idx1-ubyte the rest. Either may
// be gzip-compressed, since the loader (datasets/gzip_file.h) takes both forms.
#include <algorithm>

#include "core/error.h"
#include "datasets/mnist.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qgrad;
  if (size < 4) return 0;
  const size_t split = std::min<size_t>(size - 4, uint32_t{data[0]} << 24 | uint32_t{data[1]} << 16 |
                                                      uint32_t{data[2]} << 8 | uint32_t{data[3]});
  const std::string dir = fuzz::scratch_dir() + "/mnist";
  fuzz::write_scratch("mnist/t10k-images-idx3-ubyte", data + 4, split);
  fuzz::write_scratch("mnist/t10k-labels-idx1-ubyte", data + 4 + split, size - 4 - split);
  try {
    data::MNIST test(dir, data::Split::Test);
    // Every sample is readable and its label names a class.
    for (size_t i = 0; i < test.size(); ++i)
      if (static_cast<size_t>(test.get(i).label) >= test.classes().size()) __builtin_trap();
  } catch (const Error&) {
  }
  return 0;
}
