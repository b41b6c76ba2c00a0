#include "core/storage.h"

#include <cstdlib>

#include "core/backend/cuda_backend.h"
#include "core/error.h"

namespace qgrad {

// 64 bytes = one cache line and one AVX-512 register, so SIMD kernels may use aligned loads
// at the start of every buffer.
static constexpr size_t kAlignment = 64;

void Storage::Free::operator()(void* p) const {
  if (device == Device::CUDA) cuda_free(p);
  else std::free(p);
}

Storage::Storage(size_t nbytes, Device device)
    : data_(nullptr, Free{device}), nbytes_(nbytes), device_(device) {
  if (device == Device::CUDA) {  // fails clearly without CUDA or a GPU
    data_.reset(cuda_malloc(nbytes));
    return;
  }
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  check(p != nullptr, "Storage", "out of memory allocating ", nbytes, " bytes");
  data_.reset(p);
}

Storage::Storage(void* external, size_t nbytes, std::shared_ptr<void> owner)
    : owner_(std::move(owner)), external_(external), nbytes_(nbytes), device_(Device::CPU) {
  check(external != nullptr || nbytes == 0, "Storage", "external memory of ", nbytes,
        " bytes at a null pointer");
}

}  // namespace qgrad
