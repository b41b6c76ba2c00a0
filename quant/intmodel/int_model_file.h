// The integer model on disk: save_int_model writes an IntModel (quant/intmodel/convert.h) as a
// safetensors file (nn/safetensors.h), load_int_model rebuilds one that computes the same
// uint8 outputs bit for bit. docs/quantization.md ("The integer model file") has the layout:
//   "i.weight"        layer i's int8 codes [out, k] (k = in, or C/groups kH kW for a conv), row-major;
//                     for 2- and 4-bit weights uint8 [ceil(out k b / 8)], the same codes packed
//                     (quant/math/packing.h: two 4-bit or four 2-bit codes per byte, low bits first)
//   "i.weight_scale"  float32 [out] (per channel) or [1] (per tensor)
//   "i.bias"          int32 [out], at scale s_in s_w (M0 and shift are derived from the scales,
//                     as convert derives them, so they are not stored)
//   "i.zero_points"   int32 [in_zp, out_zp, qmin, qmax]     (also the average pools)
//   "i.scales"        float32 [s_in, s_out]                 (also the average pools)
//   "input.qparams", "output.qparams"   float32 [scale, zero_point]
// __metadata__: "qgrad.format" = "qgrad-int-model-1"; "qgrad.int_layers", one line per layer
// with every option ("QuantizedConv2d(in=1, out=6, kernel=5, stride=1, padding=2, weight_bits=8,
// granularity=channel, relu=1)", plus kernel_h/kernel_w for a non-square kernel and dilation,
// groups when not 1; an "IntResidual(body=B, shortcut=S, relu=R)" line is followed by
// its B body and S shortcut layers' lines indented two more spaces, their tensors named
// "i.body.j.*" / "i.shortcut.j.*", the add's own "i.zero_points" int32 [z_a, z_b, z_o, qmin, qmax]
// and "i.scales" float32 [s_a, s_b, s_o]); "qgrad.input_bits" / "qgrad.output_bits"; "qgrad.crc32",
// one "name crc" line per tensor (zlib's CRC-32 of its bytes as stored), so a flipped bit in
// the data is an error on load rather than a silently different model; when the model has an
// input spec (quant/intmodel/input_spec.h), "qgrad.input_shape" = "C H W", "qgrad.input_layout" =
// "NCHW", "qgrad.input_pixel_max" = "255", "qgrad.input_mean" / "qgrad.input_std" = C numbers
// (shortest text that reads back as the same float32); plus the caller's keys. A file without
// the input keys (written before they existed) loads with no spec.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/safetensors.h"
#include "quant/intmodel/convert.h"

namespace qgrad::quant {

inline constexpr const char* kIntModelFormat = "qgrad-int-model-1";

// Caller metadata keys must not start with "qgrad." (reserved for the keys above).
void save_int_model(const std::string& path, const IntModel& model, const nn::Metadata& metadata = {});

struct IntModelFile {
  std::shared_ptr<IntModel> model;
  nn::Metadata metadata;                 // all of it, qgrad.* keys included
  std::vector<int64_t> layer_bytes;      // bytes of layer i's tensors in the file
  int64_t io_bytes = 0;                  // input.qparams + output.qparams
};

// Whether a file's metadata says it holds an integer model (rather than a float checkpoint).
bool is_int_model(const nn::Metadata& metadata);

// Reads and validates everything: a missing or unexpected tensor, a wrong dtype or shape, an
// unknown layer kind or option, bits outside 2..8, codes outside the weight range, a bad
// zero point or scale (or scales whose multiplier s_in s_w / s_out is out of range), a checksum
// mismatch, a partial or malformed input spec — each a qgrad::Error naming the file, the tensor,
// layer or metadata key, and the problem.
IntModelFile read_int_model(const std::string& path);
// The same from an already loaded file (path only names it in messages).
IntModelFile read_int_model(const nn::SafeTensors& file, const std::string& path);
std::shared_ptr<IntModel> load_int_model(const std::string& path);

}  // namespace qgrad::quant
