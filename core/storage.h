// Storage: one reference-counted block of bytes, 64-byte aligned host memory or CUDA device
// memory (Device::CUDA, core/backend/cuda_backend.h). Tensors are views into a Storage
// (shape + strides + offset), so reshape/transpose/slice share it without copying. data() of a
// CUDA storage is a device pointer: only the CUDA backend's kernels may read it.
#pragma once
#include <cstddef>
#include <memory>

#include "core/dtype.h"

namespace qgrad {

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  // Memory someone else allocated (a NumPy array's buffer, say): not freed here; `owner` is
  // held until the storage dies, so the memory outlives every tensor viewing it. Such memory
  // need not be 64-byte aligned (kernels use unaligned loads for views anyway).
  Storage(void* external, size_t nbytes, std::shared_ptr<void> owner);
  void* data() { return external_ ? external_ : data_.get(); }
  const void* data() const { return external_ ? external_ : data_.get(); }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  struct Free {
    Device device = Device::CPU;
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> data_{nullptr, Free{}};
  std::shared_ptr<void> owner_;  // external memory only
  void* external_ = nullptr;
  size_t nbytes_;
  Device device_;
};

}  // namespace qgrad
