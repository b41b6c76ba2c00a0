// Choosing a device by name, for programs' --device flags and the Python bindings.
#pragma once
#include <string>

#include "core/dtype.h"

namespace qgrad {

// "cpu" -> Device::CPU, "cuda" -> Device::CUDA. Fails with a qgrad::Error for any other name,
// and for "cuda" when this build has no CUDA backend or no GPU is visible (saying which).
Device parse_device(const std::string& name);

// Whether Device::CUDA can be used here: the backend is built and a GPU is visible.
bool cuda_is_available();

}  // namespace qgrad
