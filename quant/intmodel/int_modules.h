// Integer-only layers: uint8 activations in, uint8 activations out, nothing in float.
//   QuantizedLinear / QuantizedConv2d — the integer GEMM (quant/kernels/qgemm.h), u8 x s8 -> s32:
//     acc[c]  = sum_k (q_in[k] - zp_in) * q_w[c][k] + bias_q[c]
//     q_out   = clamp(zp_out + round(M[c] * acc[c]), qmin, qmax),  M[c] = s_in s_w[c] / s_out
//   with M[c] ~ M0[c] 2^-(31 + shift[c]) (quantize_multiplier), bias_q[c] = round(b[c] / (s_in s_w[c])),
//   weights int8 symmetric (zero point 0), qmin = zp_out when a ReLU is fused (the clamp is the
//   ReLU), else 0. Rounding of the requantization: to nearest, ties toward +infinity (see
//   quant/kernels/requantize.h); the fake-quant model rounds ties away from zero, so the two
//   can differ by one step on exact ties of negative values.
//     Linear: x [N, in] -> [N, out];  Conv2d: x [N, H, W, C] -> im2col_u8 (padding = zp_in) ->
//     one GEMM over all N Ho Wo rows -> [N, Ho, Wo, O]
// LAYOUT: 4-D integer activations are channels last, [N, H, W, C] (IntModel::forward_int takes and
//   gives NCHW and converts at either end). Channels last makes a conv's receptive-field rows long
//   contiguous runs for im2col, and the GEMM's [N Ho Wo, O] output is already the next layer's
//   input, with no transpose (kernels/im2col_u8.h). Weights keep PyTorch's [O, C, kH, kW] order
//   (as saved); only the packed copy for the GEMM is in the (ky, kx, c) order of the im2col rows.
//   IntMaxPool2d   max of the uint8 codes (same qparams in and out: max commutes with the
//                  monotone map q -> s (q - zp)); padding never wins.
//   IntAvgPool2d   acc = sum over the window of (q - zp_in), padded positions counting as 0
//                  (count_include_pad), q_out = clamp(zp_out + round(acc * s_in / (count s_out)))
//                  with the same fixed-point multiplier; global = one window over H x W, out [N, C].
//   IntFlatten     [N, H, W, C] -> [N, C H W] in PyTorch's (c, y, x) order, which the following
//                  Linear's weights expect; other shapes: a reshape.      IntReLU  max(q, zp).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/ops/pool.h"
#include "core/tensor.h"
#include "nn/state_dict.h"
#include "quant/kernels/qgemm.h"
#include "quant/kernels/im2col_u8.h"
#include "quant/math/qparams.h"

namespace qgrad::quant {

class IntLayer {
 public:
  virtual ~IntLayer() = default;
  virtual Tensor run(const Tensor& q) const = 0;  // uint8 -> uint8
  virtual std::string name() const = 0;
  // What save_int_model writes: the layer's integer tensors under prefix + "." and a one-line
  // description of its options ("" / nothing for layers without either).
  virtual void export_tensors(const std::string& /*prefix*/, nn::StateDict& /*out*/) const {}
  virtual std::string describe() const { return name(); }
};

// Everything an integer GEMM layer is made of, in the form a file stores it (see
// quant/intmodel/int_model_file.h). The requantization multipliers are not stored: they are derived from
// the three scales by the same double computation convert does (as TFLite derives them from its
// stored scales), so they come out bit for bit the same.
struct IntGemmParams {
  Tensor qweight;                          // int8 [out, k], codes in the symmetric weight_bits range
  int weight_bits = 8;
  bool per_channel = true;                 // weight_scale has `out` entries, else one
  std::vector<float> weight_scale;
  std::vector<int32_t> bias;               // [out]
  int32_t in_zero_point = 0, out_zero_point = 0, qmin = 0, qmax = 255;
  bool relu = false;                       // fused: qmin = out_zero_point
  float in_scale = 1, out_scale = 1;       // the activations' scales on either side
};

// The GEMM and output stage both quantized layers share.
struct IntGemm {
  Tensor qweight;                          // int8 [out, k], as saved
  PackedB weight;                          // W^T [k, out], int8, in the kernel's layout
  std::vector<int32_t> bias;               // [out]
  std::vector<int32_t> multiplier, shift;  // [out]
  int32_t in_zero_point = 0;
  Requantization requant;                  // points into multiplier / shift
  int weight_bits = 8;
  bool per_channel = true;
  bool relu = false;
  std::vector<float> weight_scale;         // [out] or [1]
  float in_scale = 1, out_scale = 1;
  int64_t conv_channels = 0;               // see the constructor

  // Quantizes a float weight [out, k] (already symmetric-quantized by w_qp) and bias [out].
  // conv_channels C > 0: a convolution whose qweight columns are (c, ky, kx) and whose im2col
  // rows are (ky, kx, c); the packed copy is reordered to match. 0: a Linear layer.
  IntGemm(const Tensor& weight, const Tensor& bias, const QParams& w_qp, const QParams& in_qp,
          const QParams& out_qp, bool relu, int64_t conv_channels = 0);
  // From saved tensors (load_int_model validates them first); the weight is packed for the
  // dispatched kernel and M0, shift derived from the scales here.
  explicit IntGemm(const IntGemmParams& p, int64_t conv_channels = 0);
  IntGemm(const IntGemm&) = delete;
  IntGemm& operator=(const IntGemm&) = delete;
  // c [m, out] = requantized (a [m, k] x W^T).
  void run(const uint8_t* a, int64_t m, uint8_t* c) const;
  // The weight's quantization parameters (symmetric, axis 0 when per channel).
  QParams weight_qparams() const;
  QParams output_qparams() const;  // per-tensor unsigned, bits from qmax
  // Under prefix + ".": weight (int8 [out, k] at 8 bits, else uint8 packed codes, quant/math/packing.h),
  // weight_scale, bias, zero_points [in_zp, out_zp, qmin, qmax], scales [s_in, s_out].
  void export_tensors(const std::string& prefix, nn::StateDict& out) const;

 private:
  // weight (PackedB) from qweight (columns reordered for a conv); multiplier, shift from the scales: M[c] = s_in s_w[c] / s_out.
  void finish();
};

class QuantizedLinear : public IntLayer {
 public:
  QuantizedLinear(const Tensor& weight, const Tensor& bias, const QParams& w_qp, const QParams& in_qp,
                  const QParams& out_qp, bool relu)
      : gemm_(weight, bias, w_qp, in_qp, out_qp, relu) {}
  explicit QuantizedLinear(const IntGemmParams& p) : gemm_(p) {}
  Tensor run(const Tensor& q) const override;
  std::string name() const override { return "QuantizedLinear"; }
  std::string describe() const override;
  void export_tensors(const std::string& prefix, nn::StateDict& out) const override {
    gemm_.export_tensors(prefix, out);
  }
  const IntGemm& gemm() const { return gemm_; }

 private:
  IntGemm gemm_;
};

class QuantizedConv2d : public IntLayer {
 public:
  // weight [O, C, k, k]; stride and padding as in the float conv (dilation 1, groups 1).
  QuantizedConv2d(const Tensor& weight, const Tensor& bias, const QParams& w_qp, const QParams& in_qp,
                  const QParams& out_qp, bool relu, int64_t stride, int64_t padding);
  // From saved tensors: p.qweight is [O, C k k].
  QuantizedConv2d(const IntGemmParams& p, int64_t in_channels, int64_t kernel, int64_t stride, int64_t padding);
  Tensor run(const Tensor& q) const override;
  std::string name() const override { return "QuantizedConv2d"; }
  std::string describe() const override;
  void export_tensors(const std::string& prefix, nn::StateDict& out) const override {
    gemm_.export_tensors(prefix, out);
  }
  const IntGemm& gemm() const { return gemm_; }
  int64_t in_channels() const { return in_channels_; }
  int64_t kernel() const { return kernel_; }

 private:
  IntGemm gemm_;
  int64_t out_channels_, in_channels_, kernel_, stride_, padding_;
};

class IntMaxPool2d : public IntLayer {
 public:
  explicit IntMaxPool2d(const Pool2dOptions& options) : options_(options) {}
  Tensor run(const Tensor& q) const override;
  std::string name() const override { return "IntMaxPool2d"; }
  std::string describe() const override;

 private:
  Pool2dOptions options_;
};

class IntAvgPool2d : public IntLayer {
 public:
  // global: one window over the whole H x W, output [N, C]; else options' windows.
  IntAvgPool2d(const Pool2dOptions& options, bool global, const QParams& in_qp, const QParams& out_qp);
  Tensor run(const Tensor& q) const override;
  std::string name() const override { return global_ ? "IntGlobalAvgPool" : "IntAvgPool2d"; }
  std::string describe() const override;
  // zero_points [in_zp, out_zp, 0, qmax] and scales [s_in, s_out] under prefix + ".".
  void export_tensors(const std::string& prefix, nn::StateDict& out) const override;
  QParams output_qparams() const;

 private:
  Pool2dOptions options_;
  bool global_;
  float in_scale_, out_scale_;
  double in_over_out_;  // s_in / s_out
  int32_t in_zp_, out_zp_, qmax_;
};

class IntFlatten : public IntLayer {
 public:
  Tensor run(const Tensor& q) const override;
  std::string name() const override { return "IntFlatten"; }
};

class IntReLU : public IntLayer {
 public:
  explicit IntReLU(int32_t zero_point) : zero_point_(zero_point) {}
  Tensor run(const Tensor& q) const override;
  std::string name() const override { return "IntReLU"; }
  std::string describe() const override;

 private:
  int32_t zero_point_;
};

}  // namespace qgrad::quant
