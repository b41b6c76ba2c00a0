#include "core/storage.h"

#include "core/backend/cuda_backend.h"
#include "core/cpu_allocator.h"
#include "core/error.h"

namespace qgrad {

// cpu_alloc's blocks are 64-byte aligned (one cache line, one AVX-512 register), so SIMD kernels
// may use aligned loads at the start of every buffer.
void Storage::Free::operator()(void* p) const {
  if (device == Device::CUDA) cuda_free(p);
  else cpu_free(p);
}

Storage::Storage(size_t nbytes, Device device)
    : data_(nullptr, Free{device}), nbytes_(nbytes), device_(device) {
  if (device == Device::CUDA) {  // fails clearly without CUDA or a GPU
    data_.reset(cuda_malloc(nbytes));
    return;
  }
  data_.reset(cpu_alloc(nbytes));
}

Storage::Storage(void* external, size_t nbytes, std::shared_ptr<void> owner)
    : owner_(std::move(owner)), external_(external), nbytes_(nbytes), device_(Device::CPU) {
  check(external != nullptr || nbytes == 0, "Storage", "external memory of ", nbytes,
        " bytes at a null pointer");
}

}  // namespace qgrad
