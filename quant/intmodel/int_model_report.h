// What `inspect` prints about a saved integer model (quant/intmodel/int_model_file.h), one entry per
// layer: its weights' bit width, granularity, scale and zero-point ranges over the channels,
// the bytes its tensors take in the file, the real ranges its weights and output activation are
// clipped to, and — given the float weights it came from — how much quantization disturbed them:
//   weight clip range   [qmin s_max, qmax s_max]   (s_max: the widest channel's scale)
//   output clip range   [(0 - zp) s, (qmax - zp) s] of the layer's output activation
//   sqnr_db, clipped    quant/math/metrics.h on the float weight against its dequantized codes
// and the histogram the notebooks plot: `bins` equal bins over [min(lo, data), max(hi, data)],
// so the clip range [lo, hi] is always inside the plot and clipped tails show outside it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "quant/intmodel/int_model_file.h"

namespace qgrad::quant {

struct LayerReport {
  size_t index = 0;
  std::string kind;         // IntLayer::name()
  std::string description;  // IntLayer::describe(), the line in the file
  int64_t file_bytes = 0;
  // Weights (quantized layers only; weight_bits 0 otherwise).
  int weight_bits = 0;
  std::string granularity;  // "channel" | "tensor"
  Shape weight_shape;       // [out, k] as the GEMM sees it
  float scale_min = 0, scale_max = 0;
  int32_t zero_point_min = 0, zero_point_max = 0;
  float weight_clip_lo = 0, weight_clip_hi = 0;
  // Output activation (quantized layers and average pools).
  bool has_output = false;
  float output_clip_lo = 0, output_clip_hi = 0;
  // Against the float weights (add_float_weight).
  std::optional<double> sqnr_db, clipped_fraction;
};

std::vector<LayerReport> report_int_model(const IntModelFile& file);

// Fills sqnr_db and clipped_fraction of a quantized layer's report from the float weight it
// was quantized from (any shape with [out, k] elements, e.g. a conv's [O, C, k, k]).
void add_float_weight(LayerReport& report, const IntGemm& gemm, const Tensor& float_weight);

struct Histogram {
  std::vector<double> edges;     // bins + 1, ascending
  std::vector<int64_t> counts;   // bins
  double clip_lo = 0, clip_hi = 0;
  int64_t below = 0, above = 0;  // values outside [clip_lo, clip_hi]
};
// Fails on an empty value list or bins < 1; non-finite values are refused naming their index.
Histogram histogram(const std::vector<float>& values, double clip_lo, double clip_hi, int bins);

}  // namespace qgrad::quant
