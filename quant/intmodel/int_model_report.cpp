#include "quant/intmodel/int_model_report.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "quant/math/metrics.h"
#include "quant/math/quantize.h"

namespace qgrad::quant {

namespace {
void set_output(LayerReport& r, const QParams& out) {
  r.has_output = true;
  r.output_clip_lo = out.scale[0] * static_cast<float>(0 - out.zero_point[0]);
  r.output_clip_hi = out.scale[0] * static_cast<float>(out.qmax() - out.zero_point[0]);
}
}  // namespace

std::vector<LayerReport> report_int_model(const IntModelFile& file) {
  std::vector<LayerReport> out;
  const auto& layers = file.model->layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    LayerReport r;
    r.index = i;
    r.kind = layers[i]->name();
    r.description = layers[i]->describe();
    r.file_bytes = i < file.layer_bytes.size() ? file.layer_bytes[i] : 0;
    if (const IntGemm* g = layers[i]->gemm()) {
      const QParams w = g->weight_qparams();
      r.weight_bits = w.bits;
      r.granularity = w.per_channel() ? "channel" : "tensor";
      r.weight_shape = g->params.qweight.shape();
      r.scale_min = *std::min_element(w.scale.begin(), w.scale.end());
      r.scale_max = *std::max_element(w.scale.begin(), w.scale.end());
      r.zero_point_min = *std::min_element(w.zero_point.begin(), w.zero_point.end());
      r.zero_point_max = *std::max_element(w.zero_point.begin(), w.zero_point.end());
      r.weight_clip_lo = static_cast<float>(w.qmin()) * r.scale_max;
      r.weight_clip_hi = static_cast<float>(w.qmax()) * r.scale_max;
    }
    // A residual's is the sum's; the layers inside its branches are not listed.
    if (const auto out_qp = layers[i]->output_qparams()) set_output(r, *out_qp);
    out.push_back(r);
  }
  return out;
}

void add_float_weight(LayerReport& report, const IntGemm& gemm, const Tensor& float_weight) {
  const Shape& s = gemm.params.qweight.shape();
  check(float_weight.numel() == s[0] * s[1], "add_float_weight", "layer ", report.index, " (", report.kind,
        "): float weight ", shape_str(float_weight.shape()), " does not have the ", s[0], " x ", s[1],
        " elements of the quantized weight");
  const Tensor w = float_weight.detach().contiguous().reshape(s);
  const QParams qp = gemm.weight_qparams();
  report.sqnr_db = sqnr_db(w, dequantize(gemm.params.qweight, qp));
  report.clipped_fraction = clipped_fraction(w, qp);
}

Histogram histogram(const std::vector<float>& values, double clip_lo, double clip_hi, int bins) {
  check(!values.empty() && bins >= 1 && clip_lo <= clip_hi, "histogram", "needs values (got ", values.size(),
        "), bins >= 1 (got ", bins, ") and clip_lo <= clip_hi (got ", clip_lo, ", ", clip_hi, ")");
  Histogram h;
  h.clip_lo = clip_lo;
  h.clip_hi = clip_hi;
  double lo = clip_lo, hi = clip_hi;
  for (size_t i = 0; i < values.size(); ++i) {
    check(std::isfinite(values[i]), "histogram", "value ", values[i], " at index ", i, " is not finite");
    lo = std::min<double>(lo, values[i]);
    hi = std::max<double>(hi, values[i]);
    h.below += values[i] < clip_lo;
    h.above += values[i] > clip_hi;
  }
  if (hi == lo) hi = lo + 1;  // one value everywhere: any width holds it
  const double width = (hi - lo) / bins;
  for (int b = 0; b <= bins; ++b) h.edges.push_back(b == bins ? hi : lo + width * b);
  h.counts.assign(static_cast<size_t>(bins), 0);
  for (float v : values) {
    // Bins are [edge_b, edge_b+1); the last one also holds hi.
    const auto b = static_cast<int64_t>((v - lo) / width);
    ++h.counts[static_cast<size_t>(std::clamp<int64_t>(b, 0, bins - 1))];
  }
  return h;
}

}  // namespace qgrad::quant
