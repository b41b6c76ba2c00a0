#include "core/storage.h"

#include "core/cpu_allocator.h"
#include "core/error.h"

namespace qgrad {

// cpu_alloc's blocks are 64-byte aligned (one cache line, one AVX-512 register), so SIMD kernels
// may use aligned loads at the start of every buffer.
void Storage::Free::operator()(void* p) const { cpu_free(p); }

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  check(device == Device::CPU, "Storage", "device '", device_name(device),
        "' is not available in this build");
  data_.reset(cpu_alloc(nbytes));
}

Storage::Storage(void* external, size_t nbytes, std::shared_ptr<void> owner)
    : owner_(std::move(owner)), external_(external), nbytes_(nbytes), device_(Device::CPU) {
  check(external != nullptr || nbytes == 0, "Storage", "external memory of ", nbytes,
        " bytes at a null pointer");
}

}  // namespace qgrad
