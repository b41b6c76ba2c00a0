// Fuzz target: nn::load_safetensors on arbitrary bytes. A file it accepts must also round-trip:
// saved again and reloaded, it gives the same tensors (dtype, shape, bytes) and metadata.
#include <cstring>

#include "core/error.h"
#include "fuzz/fuzz_util.h"
#include "nn/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qgrad;
  const std::string path = fuzz::write_scratch("input.safetensors", data, size);
  nn::SafeTensors file;
  try {
    file = nn::load_safetensors(path);
  } catch (const Error&) {
    return 0;
  }
  const std::string again = fuzz::scratch_dir() + "/again.safetensors";
  nn::save_safetensors(again, file.tensors, file.metadata);
  const nn::SafeTensors back = nn::load_safetensors(again);
  if (back.metadata != file.metadata || back.tensors.size() != file.tensors.size()) __builtin_trap();
  for (const auto& [name, t] : file.tensors) {
    const Tensor& u = back.tensors.at(name);
    const size_t bytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
    if (u.dtype() != t.dtype() || u.shape() != t.shape() || std::memcmp(u.raw_data(), t.raw_data(), bytes) != 0)
      __builtin_trap();
  }
  return 0;
}
