// Fuzz target: quant::read_int_model (the int8/int4/int2 model loader) on arbitrary bytes, and,
// for a model it accepts, one prediction on an image of the model's input shape: a file that
// loads must either run or be refused with a qgrad::Error, never crash.
// The file's per-tensor CRC-32s (metadata "qgrad.crc32") would stop nearly every mutation of the
// tensor bytes at the checksum, so on inputs whose last byte is even the harness rewrites them
// to match (the loader's checks behind the checksum get fuzzed); odd keeps the file's own
// (the checksum parser gets fuzzed).
#include <zlib.h>

#include <cstdio>
#include <vector>

#include "core/error.h"
#include "fuzz/fuzz_util.h"
#include "quant/intmodel/int_model_file.h"

namespace {

using namespace qgrad;

void refresh_checksums(nn::SafeTensors& file) {
  std::string crcs;
  for (const auto& [name, t] : file.tensors) {
    const auto* bytes = static_cast<const unsigned char*>(t.raw_data());
    const size_t n = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), bytes, static_cast<uInt>(n));
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08lx", crc);
    crcs += name + " " + hex + "\n";
  }
  file.metadata["qgrad.crc32"] = crcs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_scratch("input_int8.safetensors", data, size);
  try {
    nn::SafeTensors file = nn::load_safetensors(path);
    if (size > 0 && data[size - 1] % 2 == 0 && file.metadata.count("qgrad.crc32")) refresh_checksums(file);
    quant::IntModelFile model = quant::read_int_model(file, path);
    if (!model.model->input_spec) return 0;
    // One image of the declared shape, when small enough to run quickly, with varied pixels.
    const data::ImageShape s = model.model->input_spec->shape;
    if (s.numel() <= 0 || s.numel() > 4096) return 0;
    std::vector<uint8_t> pixels(static_cast<size_t>(s.numel()));
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 + 11);
    model.model->predict_pixels(from_vector(pixels, {1, s.channels, s.height, s.width}));
  } catch (const Error&) {
  }
  return 0;
}
