// Dynamic quantization (PyTorch's quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8), the
// article's §5 example): weights are quantized once, ahead of time; activations are quantized
// on the fly, with a range measured on each batch as it arrives. No calibration data, no
// observers: the price is one min/max pass over the input per call, the gain is that the range
// always fits the batch at hand.
//
// DynamicQuantLinear, y = x W^T + b with  x [N, in], W [out, in], b [out], y [N, out]:
//   weights (once):  q_w[c][k] = clamp(round(W[c][k] / s_w[c]), -127, 127)
//                    s_w[c] = max_k |W[c][k]| / 127            (int8 symmetric, per output channel)
//                    q_w^T packed with quant::pack_b; colsum[c] = sum_k q_w[c][k] comes with it
//   per call:        [lo, hi] = [min(x), max(x)] of this batch, widened to contain 0
//                    s_x = (hi - lo) / 255,  z_x = round(-lo / s_x)   (uint8 asymmetric; 0 exact)
//                    q_x = clamp(round(x / s_x) + z_x, 0, 255)
//                    acc[i][c] = sum_k (q_x[i][k] - z_x) q_w[c][k]
//                              = sum_k q_x[i][k] q_w[c][k] - z_x colsum[c]   (int32, quant::qgemm's
//                                c_s32 mode: the zero point never enters the inner loop)
//                    y[i][c] = (s_x s_w[c]) acc[i][c] + b[c]                  (float; bias stays float)
// Error: x_k w_k - x^_k w^_k = (x_k - x^_k) w_k + x^_k (w_k - w^_k), and every value lies inside its
// range, so |y - y_float|[i][c] <= sum_k (s_x / 2 |W[c][k]| + |x^[i][k]| s_w[c] / 2) (plus float
// rounding of the final scale-and-add).
//
// Inference only: the layer has no trainable parameters and records no graph; an input that
// requires grad while grad mode is on is an error, as is anything but a float32 [N, in] input.
//
// quantize_dynamic(model) returns a new Sequential in which every nn::Linear (also inside nested
// Sequentials) is replaced by a DynamicQuantLinear built from it. Every other module is shared,
// not copied: the result holds the same shared_ptr as model (a Conv2d's weights are the float
// model's own), so call eval() on the result before using it — that sets the shared layers' mode
// as well. The float model's Linear layers are left untouched.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/linear.h"
#include "nn/module.h"
#include "nn/sequential.h"
#include "quant/kernels/qgemm.h"
#include "quant/math/qparams.h"

namespace qgrad::quant {

class DynamicQuantLinear : public nn::Module {
 public:
  // Quantizes and packs float_layer's weight (the float layer is not changed or kept) for
  // kernel (default: the dispatched one; tests pass each registered kernel in turn).
  explicit DynamicQuantLinear(const nn::Linear& float_layer, const QGemmKernel& kernel = qgemm_kernel());

  Tensor forward(const Tensor& x) override;  // float32 [N, in] -> float32 [N, out]
  std::string type_name() const override { return "DynamicQuantLinear"; }
  std::string options_str() const override;

  // The parts of forward, exposed so tests can check each against a scalar reference:
  // the per-batch activation QParams (uint8 asymmetric, per-tensor over the whole of x) ...
  static QParams input_qparams(const Tensor& x);
  // ... and the int32 accumulator acc [N, out] for x quantized with x_qp (see the header).
  Tensor accumulate(const Tensor& x, const QParams& x_qp) const;

  const nn::LinearOptions& options() const { return options_; }
  const Tensor& qweight() const { return qweight_; }          // int8 [out, in]
  const QParams& weight_qparams() const { return weight_qp_; }  // per channel, axis 0
  const Tensor& bias() const { return bias_; }                // float32 [out]; undefined without
  // What the layer stores: int8 weights + one float32 scale per output channel + float32 bias.
  int64_t weight_bytes() const;

 private:
  void check_input(const Tensor& x) const;

  nn::LinearOptions options_;
  Tensor qweight_, bias_;
  QParams weight_qp_;
  PackedB packed_;
};

std::shared_ptr<nn::Sequential> quantize_dynamic(const nn::Sequential& model);

}  // namespace qgrad::quant
