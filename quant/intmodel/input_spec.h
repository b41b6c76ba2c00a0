// InputSpec: the preprocessing an integer model's input expects, so that its file alone is
// enough to run it on raw images. It is exactly the data loader's normalization
// (datasets/transforms.h), then the model's input quantizer (quant/math/quantize.h):
//
//   x[n, c, y, x] = (p[n, c, y, x] / 255 - mean[c]) / std[c]       p uint8 in 0..255, float32
//   q[n, c, y, x] = clamp(round(x / s_in) + z_in, 0, 2^bits - 1)    the model's uint8 input codes
//
// N = batch, C = channels, H = height, W = width; layout NCHW (planar, channel-major), the
// float model's. mean and std are in [0, 1] pixel units (after the division by 255). The float32
// operation order (what a second implementation must repeat to get the same codes) is in
// docs/quantization.md (§11, "Running the file on raw pixels").
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "datasets/dataset.h"
#include "nn/safetensors.h"

namespace qgrad::quant {

// The one layout and pixel range qgrad models take; written to the file so a reader need not
// assume them.
inline constexpr const char* kInputLayout = "NCHW";
inline constexpr int kInputPixelMax = 255;  // pixels are uint8 0..255, divided by 255

struct InputSpec {
  data::ImageShape shape;   // C, H, W of one image
  std::vector<float> mean;  // [C]
  std::vector<float> std;   // [C], each > 0
};

// "1x28x28 NCHW uint8/255, mean 0.1307, std 0.3081"
std::string describe(const InputSpec& spec);

// Adds the spec's "qgrad.input_*" keys (docs/quantization.md §8) to meta.
void write_input_spec(const InputSpec& spec, nn::Metadata& meta);
// The spec in a file's metadata; none when the file has none of its keys (written before they
// existed). A partial or malformed spec is a qgrad::Error naming path, the key and the value.
std::optional<InputSpec> read_input_spec(const nn::Metadata& meta, const std::string& path);

// Raw images uint8 [N, C, H, W] (C, H, W = spec.shape) -> float32 [N, C, H, W] by the formula
// above, with the data loader's own arithmetic (bit for bit what DataLoader::batch gives).
Tensor normalize_pixels(const InputSpec& spec, const Tensor& pixels);

}  // namespace qgrad::quant
