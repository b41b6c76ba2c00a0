// Is there a CUDA GPU to run on? Declared without CUDA headers so any file can ask; built from
// core/backend/cuda/cuda_device.cu when the CUDA backend is compiled (QGRAD_HAVE_CUDA), else from
// cuda_device_none.cpp, which answers "none".
#pragma once
#include <string>

namespace qgrad {

// Whether this build contains the CUDA backend at all.
bool cuda_built();
// Number of visible CUDA devices; 0 when the backend is not built, no driver is loaded or no GPU
// is present (never throws: tests use it to decide whether to skip).
int cuda_device_count();
// "NVIDIA H200 (sm_90)" for device 0, or why there is none ("no CUDA device: <driver message>").
std::string cuda_device_description();

}  // namespace qgrad
