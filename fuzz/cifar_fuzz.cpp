// Fuzz target: data::CIFAR10 on an arbitrary test_batch.bin (the official binary batch: records
// of 1 label byte + 3072 pixel bytes) in a cifar-10-batches-bin folder.
#include "core/error.h"
#include "datasets/cifar10.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qgrad;
  fuzz::write_scratch("cifar10/cifar-10-batches-bin/test_batch.bin", data, size);
  try {
    data::CIFAR10 test(fuzz::scratch_dir() + "/cifar10", data::Split::Test);
    for (size_t i = 0; i < test.size(); ++i)
      if (static_cast<size_t>(test.get(i).label) >= test.classes().size()) __builtin_trap();
  } catch (const Error&) {
  }
  return 0;
}
