#include "core/device.h"

#include "core/backend/cuda_device.h"
#include "core/error.h"

namespace qgrad {

bool cuda_is_available() { return cuda_built() && cuda_device_count() > 0; }

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  check(name == "cuda", "parse_device", "unknown device '", name, "' (expected cpu or cuda)");
  check(cuda_built(), "parse_device", "device 'cuda' is not available: qgrad was built without CUDA ",
        "(configure with -DQGRAD_CUDA=ON on a machine with the CUDA toolkit)");
  check(cuda_device_count() > 0, "parse_device", "device 'cuda' is not available: ",
        cuda_device_description());
  return Device::CUDA;
}

}  // namespace qgrad
