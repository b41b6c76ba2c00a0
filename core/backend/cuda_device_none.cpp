// The answers of core/backend/cuda_device.h for a build without the CUDA backend.
#ifndef QGRAD_HAVE_CUDA
#include "core/backend/cuda_device.h"

namespace qgrad {

bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_device_description() {
  return "no CUDA device: this qgrad was built without the CUDA backend (QGRAD_CUDA=OFF or no nvcc)";
}

}  // namespace qgrad
#endif
