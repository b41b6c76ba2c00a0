// Device discovery for the CUDA backend (see core/backend/cuda_device.h).
#include <cuda_runtime.h>

#include <string>

#include "core/backend/cuda_device.h"

namespace qgrad {

bool cuda_built() { return true; }

int cuda_device_count() {
  int count = 0;
  // Without a driver or a GPU this reports an error (cudaErrorNoDevice, cudaErrorInsufficientDriver):
  // that means "none here", not a failure of the program.
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return count;
}

std::string cuda_device_description() {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return std::string("no CUDA device: ") + cudaGetErrorString(err);
  }
  if (count == 0) return "no CUDA device: the driver sees no GPU";
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "CUDA device 0 (properties unreadable)";
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}

}  // namespace qgrad
