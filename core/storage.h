// Storage: one reference-counted, 64-byte aligned block of bytes. Tensors are views into a
// Storage (shape + strides + offset), so reshape/transpose/slice share it without copying.
#pragma once
#include <cstddef>
#include <memory>

#include "core/dtype.h"

namespace qgrad {

class Storage {
 public:
  Storage(size_t nbytes, Device device);
  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> data_;
  size_t nbytes_;
  Device device_;
};

}  // namespace qgrad
