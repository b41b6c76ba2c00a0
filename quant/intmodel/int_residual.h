// IntResidual: a residual block in integers, y = act(body(x) + shortcut(x)), from a prepared
// nn::Residual (quant/intmodel/convert.h). It holds two integer sub-pipelines run on the same uint8 input
// (body: one or more layers; shortcut: none = the identity, or e.g. a 1x1 QuantizedConv2d) and
// the add, which brings the two branches' codes to the output grid:
//   a = body(x)     uint8, scale s_a, zero point z_a      (the body's last FakeQuantize)
//   b = shortcut(x) uint8, scale s_b, zero point z_b      (the input's qparams for the identity)
//   real sum = s_a (a - z_a) + s_b (b - z_b) = s_o (q_o - z_o), so
//   q_o = clamp(z_o + round(M_a (a - z_a) + M_b (b - z_b)), qmin, qmax),  M_a = s_a / s_o, M_b = s_b / s_o
// The ReLU after the add (ResNet's basic block) is the clamp: qmin = z_o; else qmin = 0.
//
// Fixed point (one rounding, no float): quantize_multiplier (quant/kernels/requantize.h) splits
// the larger multiplier, M_max = max(M_a, M_b) ~ m0 2^-t with m0 in [2^30, 2^31) and t = 31 + shift;
// both multipliers are then integers at that one exponent, m_a = round(M_a 2^t), m_b = round(M_b 2^t)
// (the larger one is m0 itself), and
//   q_o = clamp(z_o + floor((m_a (a - z_a) + m_b (b - z_b) + 2^(t-1)) / 2^t), qmin, qmax)
// computed exactly in 64 bits: |m| <= 2^31, |a - z_a| <= 255, so |sum| < 2^40 and, with
// 2^(t-1) <= 2^61, nothing overflows. Rounding: to nearest, ties toward +infinity — the rule of
// requantize() in the GEMM epilogue (the fake-quant model rounds ties away from zero, so the two
// can differ by one step on exact ties of negative sums). The only other difference from the
// real-valued formula is the multipliers' own rounding, |M - m 2^-t| <= 2^-(t+1) <= M_max 2^-31,
// i.e. an error below 255 M_max 2^-30 (~2.4e-7 output steps per unit of M_max) in the value
// being rounded: results equal the double-precision formula unless that value lies that close to
// a .5 tie, and exactly whenever M_a, M_b are dyadic (e.g. power-of-two scales).
// The two terms and the constants are tabulated per input code (2 x 256 int64 values), so the
// per-element work is two loads, an add, a shift and the clamp. Elementwise: any layout (the
// channels-last NHWC activations of IntModel included), the two branches' shapes must match.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "quant/intmodel/int_modules.h"

namespace qgrad::quant {

// The add alone: q_o from the two input codes, as described above.
class IntAdd {
 public:
  IntAdd(float a_scale, int32_t a_zero_point, float b_scale, int32_t b_zero_point, float out_scale,
         int32_t out_zero_point, int32_t qmin, int32_t qmax);
  uint8_t operator()(uint8_t a, uint8_t b) const {
    int64_t y = out_zero_point + ((term_a_[a] + term_b_[b]) >> t);
    y = y < qmin ? qmin : y;
    y = y > qmax ? qmax : y;
    return static_cast<uint8_t>(y);
  }
  // out[i] = (*this)(a[i], b[i]) for i < n.
  void run(const uint8_t* a, const uint8_t* b, uint8_t* out, int64_t n) const;

  float a_scale, b_scale, out_scale;
  int32_t a_zero_point, b_zero_point, out_zero_point, qmin, qmax;
  int64_t m_a = 0, m_b = 0;  // the multipliers at exponent t
  int t = 31;

 private:
  // term_a_[q] = m_a (q - z_a) + 2^(t-1),  term_b_[q] = m_b (q - z_b).
  std::array<int64_t, 256> term_a_{}, term_b_{};
};

class IntResidual : public IntLayer {
 public:
  // body_qp / shortcut_qp: the qparams of the two branches' outputs, out_qp those of the sum;
  // relu: a ReLU after the add, fused into the clamp.
  IntResidual(IntLayers body, IntLayers shortcut, const QParams& body_qp, const QParams& shortcut_qp,
              const QParams& out_qp, bool relu);
  // From saved values (load_int_model has validated them).
  IntResidual(IntLayers body, IntLayers shortcut, const IntAdd& add, bool relu);
  Tensor run(const Tensor& q) const override;
  Tensor run_cuda(const Tensor& q) const override;  // the branches' layers on the GPU, the add on the CPU
  std::string name() const override { return "IntResidual"; }
  // The header line only: "IntResidual(body=B, shortcut=S, relu=R)"; save_int_model writes the
  // B body and S shortcut layers' lines after it, indented (quant/intmodel/int_model_file.h).
  std::string describe() const override;
  // Under prefix + ".": zero_points int32 [z_a, z_b, z_o, qmin, qmax], scales float32
  // [s_a, s_b, s_o]; the branches' layers under prefix + ".body.<j>" and prefix + ".shortcut.<j>".
  void export_tensors(const std::string& prefix, nn::StateDict& out) const override;
  const IntLayers& body() const { return body_; }
  const IntLayers& shortcut() const { return shortcut_; }
  const IntAdd& add() const { return add_; }
  bool relu() const { return relu_; }
  std::optional<QParams> output_qparams() const override;
  std::vector<const IntLayers*> nested() const override { return {&body_, &shortcut_}; }

 private:
  // Both branches through `step` (a layer's run or run_cuda), then the requantized add.
  Tensor run_with(const Tensor& q, Tensor (IntLayer::*step)(const Tensor&) const) const;

  IntLayers body_, shortcut_;
  IntAdd add_;
  bool relu_;
};

}  // namespace qgrad::quant
