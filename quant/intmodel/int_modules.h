// Integer-only layers: uint8 activations in, uint8 activations out, nothing in float.
//   QuantizedLinear / QuantizedConv2d — the integer GEMM (quant/kernels/qgemm.h), u8 x s8 -> s32:
//     acc[c]  = sum_k (q_in[k] - zp_in) * q_w[c][k] + bias_q[c]
//     q_out   = clamp(zp_out + round(M[c] * acc[c]), qmin, qmax),  M[c] = s_in s_w[c] / s_out
//   with M[c] ~ M0[c] 2^-(31 + shift[c]) (quantize_multiplier), bias_q[c] = round(b[c] / (s_in s_w[c])),
//   weights int8 symmetric (zero point 0), qmin = zp_out when a ReLU is fused (the clamp is the
//   ReLU), else 0. Rounding of the requantization: to nearest, ties toward +infinity (see
//   quant/kernels/requantize.h). The fake-quant model forwards these layers' own output codes
//   (quant/fakequant/qat_modules.h, "exact forward"), so the two agree exactly here.
//     Linear: x [N, in] -> [N, out];  Conv2d (groups 1, dilation 1): x [N, H, W, C] -> im2col_u8
//     (padding = zp_in) -> one GEMM over all N Ho Wo rows -> [N, Ho, Wo, O]; grouped (depthwise)
//     or dilated convs run the same sum directly (kernels/conv_direct_u8.h), one output pixel at
//     a time, every group's O/groups outputs reading only its C/groups input channels.
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
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/ops/pool.h"
#include "core/tensor.h"
#include "nn/state_dict.h"
#include "quant/kernels/conv_direct_u8.h"
#include "quant/kernels/qgemm.h"
#include "quant/kernels/im2col_u8.h"
#include "quant/kernels/max_pool2d_u8.h"
#include "quant/math/nonlinear.h"
#include "quant/math/qparams.h"

namespace qgrad::quant {

class IntGemm;
class IntLayer;
struct IntGemmDevice;
using IntLayers = std::vector<std::unique_ptr<IntLayer>>;

class IntLayer {
 public:
  virtual ~IntLayer() = default;
  virtual Tensor run(const Tensor& q) const = 0;  // uint8 -> uint8
  // The same bytes computed on the GPU (quant/intmodel/int_modules_cuda.cpp), for IntModel's
  // CUDA execution: the GEMM layers, their im2col and max-pool run there; a layer without a
  // CUDA path (this default) runs on the CPU. Tensors stay in host memory on either side.
  virtual Tensor run_cuda(const Tensor& q) const { return run(q); }
  virtual std::string name() const = 0;
  // What save_int_model writes: the layer's integer tensors under prefix + "." and a one-line
  // description of its options ("" / nothing for layers without either).
  virtual void export_tensors(const std::string& /*prefix*/, nn::StateDict& /*out*/) const {}
  virtual std::string describe() const { return name(); }
  // What the report and the file walk without knowing the layer's type: the integer GEMM behind
  // a weighted layer, the qparams of an output the layer requantizes (none when it passes its
  // input's codes through, as max-pool does), and the layer lists nested inside (a residual's
  // body and shortcut), which the file lists after the layer's own line.
  virtual const IntGemm* gemm() const { return nullptr; }
  virtual std::optional<QParams> output_qparams() const { return std::nullopt; }
  virtual std::vector<const IntLayers*> nested() const { return {}; }
};

// Everything an integer GEMM layer is made of, in the form a file stores it (see
// quant/intmodel/int_model_file.h). The requantization multipliers are not stored: they are
// derived from the three scales by the same double computation either way (as TFLite derives
// them from its stored scales), so they come out bit for bit the same.
// Non-linear weights (quant/math/nonlinear.h, int_codebook): the kernels still take int8 codes
// qweight[i] = codebook[indices[i]] at a per-tensor scale, but the file stores the weight_bits-bit
// indices and the 2^weight_bits int8 levels instead of the codes (the expansion happens at load).
struct IntGemmParams {
  Tensor qweight;                          // int8 [out, k], codes in the symmetric weight_bits range
                                           // (codebook weights: any of the levels, in [-127, 127])
  int weight_bits = 8;                     // codebook weights: bits per index
  WeightMethod weight_method = WeightMethod::Linear;
  std::vector<int8_t> codebook;            // [2^weight_bits] (non-linear only)
  Tensor indices;                          // uint8 [out, k] (non-linear only)
  bool per_channel = true;                 // weight_scale has `out` entries, else one
  std::vector<float> weight_scale;
  std::vector<int32_t> bias;               // [out]
  int32_t in_zero_point = 0, out_zero_point = 0, qmin = 0, qmax = 255;
  bool relu = false;                       // fused: qmin = out_zero_point
  float in_scale = 1, out_scale = 1;       // the activations' scales on either side

  // Quantizes a float weight (any shape [out, ...], already symmetric-quantized by w_qp) and
  // bias [out] (undefined: zeros): bias_q[c] = round(b[c] / (s_in s_w[c])).
  static IntGemmParams from_float(const Tensor& weight, const Tensor& bias, const QParams& w_qp,
                                  const QParams& in_qp, const QParams& out_qp, bool relu);
  // A non-linear weight's codebook (over a weight of shape [out, ...]) and the float bias, as above.
  static IntGemmParams from_codebook(const IntCodebook& codebook, WeightMethod method, const Tensor& bias,
                                     const QParams& in_qp, const QParams& out_qp, bool relu);
};

// The stored parameters plus what is derived from them: the weight packed for the dispatched
// kernel and the fixed-point multipliers M[c] = s_in s_w[c] / s_out ~ M0[c] 2^-(31 + shift[c]).
class IntGemm {
 public:
  // How qweight's columns become the GEMM's k: a Linear's as they are; a conv's stored (c, ky, kx)
  // columns reordered to the (ky, kx, c) of its channels-last im2col rows (conv_channels = C);
  // or not packed at all (a conv the direct kernel runs: it reads params.qweight itself).
  enum class Layout { Linear, Conv, Unpacked };
  explicit IntGemm(IntGemmParams p, Layout layout = Layout::Linear, int64_t conv_channels = 0);
  IntGemm(const IntGemm&) = delete;
  IntGemm& operator=(const IntGemm&) = delete;
  // c [m, out] = requantized (a [m, k] x W^T); needs a packed layout.
  void run(const uint8_t* a, int64_t m, uint8_t* c) const;
  // The same on the GPU, a and c in device memory (the CUDA tensor-core GEMM,
  // quant/kernels/cuda/qgemm_cuda.h); the weight, bias and multipliers are uploaded on the first
  // call and kept. Throws in a build without CUDA.
  void run_cuda(const uint8_t* a, int64_t m, uint8_t* c) const;
  // The weight's quantization parameters (symmetric, axis 0 when per channel).
  QParams weight_qparams() const;
  QParams output_qparams() const;  // per-tensor unsigned, bits from qmax
  // Under prefix + ".": weight (int8 [out, k] at 8 bits, else uint8 packed codes, quant/math/packing.h;
  // non-linear: uint8 packed indices, and codebook int8 [2^weight_bits]),
  // weight_scale, bias, zero_points [in_zp, out_zp, qmin, qmax], scales [s_in, s_out].
  void export_tensors(const std::string& prefix, nn::StateDict& out) const;
  // "weight_bits=8, granularity=channel, relu=1": the options every GEMM layer's line carries
  // (non-linear weights add ", weights=kmeans" or ", weights=pow2").
  std::string options() const;

  const IntGemmParams params;
  PackedB weight;                          // W^T [k, out], int8, in the kernel's layout
  std::vector<int32_t> multiplier, shift;  // [out]
  Requantization requant;                  // points into multiplier / shift

 private:
  // W [out, k] with its columns in the GEMM's k order (a conv's reordered, see Layout).
  std::vector<int8_t> gemm_weight() const;
  Layout layout_;
  int64_t conv_channels_;
  mutable std::once_flag device_once_;
  mutable std::shared_ptr<const IntGemmDevice> device_;  // run_cuda's uploaded copies
};

class QuantizedLinear : public IntLayer {
 public:
  QuantizedLinear(const Tensor& weight, const Tensor& bias, const QParams& w_qp, const QParams& in_qp,
                  const QParams& out_qp, bool relu)
      : gemm_(IntGemmParams::from_float(weight, bias, w_qp, in_qp, out_qp, relu)) {}
  explicit QuantizedLinear(IntGemmParams p) : gemm_(std::move(p)) {}
  Tensor run(const Tensor& q) const override;
  Tensor run_cuda(const Tensor& q) const override;
  std::string name() const override { return "QuantizedLinear"; }
  std::string describe() const override;
  void export_tensors(const std::string& prefix, nn::StateDict& out) const override {
    gemm_.export_tensors(prefix, out);
  }
  const IntGemm* gemm() const override { return &gemm_; }
  std::optional<QParams> output_qparams() const override { return gemm_.output_qparams(); }

 private:
  IntGemm gemm_;
};

// A convolution's geometry: weight [out, in / groups, kernel_h, kernel_w]; stride, padding and
// dilation the same along both axes (as nn::Conv2d).
struct IntConvShape {
  int64_t in = 1, out = 1, kernel_h = 1, kernel_w = 1;
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  // The reduction depth of one output: in / groups * kernel_h * kernel_w.
  int64_t depth() const { return in / groups * kernel_h * kernel_w; }
};

class QuantizedConv2d : public IntLayer {
 public:
  // weight [O, C / groups, kH, kW]; stride, padding, dilation and groups as in the float conv.
  QuantizedConv2d(const Tensor& weight, const Tensor& bias, const QParams& w_qp, const QParams& in_qp,
                  const QParams& out_qp, bool relu, const IntConvShape& shape);
  // From saved tensors: p.qweight is [O, C / groups * kH * kW].
  QuantizedConv2d(IntGemmParams p, const IntConvShape& shape);
  Tensor run(const Tensor& q) const override;
  Tensor run_cuda(const Tensor& q) const override;  // grouped / dilated convs: on the CPU
  std::string name() const override { return "QuantizedConv2d"; }
  std::string describe() const override;
  void export_tensors(const std::string& prefix, nn::StateDict& out) const override {
    gemm_.export_tensors(prefix, out);
  }
  const IntGemm* gemm() const override { return &gemm_; }
  std::optional<QParams> output_qparams() const override { return gemm_.output_qparams(); }
  const IntConvShape& shape() const { return shape_; }

 private:
  // groups 1 and dilation 1: im2col + the packed GEMM; otherwise the direct kernel.
  bool direct() const { return shape_.groups != 1 || shape_.dilation != 1; }
  // The checked geometry of a run on channels-last input q.
  DirectConvShape geometry(const Tensor& q) const;
  // im2col's shape for input [N, H, W, C] (the im2col path).
  Im2colShape im2col_shape(int64_t height, int64_t width) const;
  void run_im2col(const Tensor& x, Tensor& out) const;
  IntConvShape shape_;
  IntGemm gemm_;
  std::vector<int8_t> direct_weight_;  // [kH, kW, C / groups, O] for the direct kernel
};

class IntMaxPool2d : public IntLayer {
 public:
  explicit IntMaxPool2d(const Pool2dOptions& options) : options_(options) {}
  Tensor run(const Tensor& q) const override;
  Tensor run_cuda(const Tensor& q) const override;
  std::string name() const override { return "IntMaxPool2d"; }
  std::string describe() const override;

 private:
  MaxPoolShape checked_shape(const Tensor& q) const;  // of channels-last uint8 input q
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
  std::optional<QParams> output_qparams() const override;

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
