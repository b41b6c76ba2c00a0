// Quantization-aware training layers (the article's §3.3 and §4.2): the forward pass computes
// with quantized weights, y = f(q), while the optimizer updates the float weights they come
// from, x <- x - alpha dL/dx, the gradient reaching x through the straight-through estimator.
//   QatLinear   y = x fq(W)^T + b                       W [out, in], fq per output channel
//   QatConv2d   y = conv2d(x, fq(W)) + b                W [O, C/groups, kH, kW] (any stride,
//                                                       padding, dilation, groups)
//   QatConvBn2d Conv2d followed by BatchNorm2d, folded:
//                 s[o]      = gamma[o] / sqrt(running_var[o] + eps)
//                 W_fold    = W * s[o]   (each output channel o)
//                 b_fold    = beta[o] + (b[o] - running_mean[o]) * s[o]
//                 y         = conv2d(x, fq(W_fold)) + b_fold
// The folding always uses the running statistics, which stay frozen at the float model's
// values during QAT (gamma, beta and W still train, through the fold). This is the simple
// consistent scheme: the training forward is the very computation the integer model does
// (one conv with the folded, quantized weight), so nothing shifts when BN is folded at convert
// time; the price is that BN no longer re-estimates statistics while the weights move, which a
// short fine-tune from a trained float model does not need.
// Weights are fake-quantized with the range of the current weights (FakeQuantize with
// track_current). Non-linear weights (k-means or power-of-two, quant/math/nonlinear.h) are
// replaced by the int8 codebook the integer model stores, w_hat = s * level[index]
// (int_codebook), with the gradient passed straight through; the codebook is recomputed from the
// current weights at every forward, as track_current does for a linear range, and is the one
// convert builds from the same weights (k-means is deterministic). Recomputing rather than
// freezing it after calibration keeps the levels on the weights while QAT moves them (a frozen
// codebook would need a rule for weights leaving its span); the weight FakeQuantize's switch
// still says whether weights are quantized at all. The bias is rounded to the grid the integer model stores it on, int32 at the
// accumulator's scale s_in * s_w[o] (s_in: the scale of the layer's input, from the FakeQuantize
// that prepare tells the layer about):
//   b_q[o] = round(b[o] / (s_in s_w[o])) * s_in s_w[o]        (in double, as convert computes it)
// with the gradient passed straight through (the rounding moves b by at most half an
// accumulator step; an int32 never clips). Without it the fake-quant model adds the exact float
// bias, and each output near a rounding boundary of its FakeQuantize can land one code away
// from the integer model's, an error that low-bit activations carry through every later layer.
// Exact forward: the bias alone does not close the gap (the float conv's own rounding and the
// fixed-point multiplier still move outputs that sit near a rounding boundary), so the
// FakeQuantize that closes a layer asks it for the integer model's output codes: the layer's
// integer twin (the very IntLayer convert builds, quant/intmodel/int_modules.h) run on the
// input's codes. The forward value is then the integer model's; the gradient is still the float
// computation's, through the straight-through estimator (quant/fakequant/fake_quantize_module.h).
// It applies when weights are symmetric and activations unsigned per-tensor, as convert needs,
// and the input is on the CPU; otherwise the forward stays the float one (on the GPU: plain fake
// quantization, quant/kernels/cuda/fake_quant_cuda.h).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "nn/batch_norm.h"
#include "nn/conv2d.h"
#include "nn/linear.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/intmodel/int_modules.h"

namespace qgrad::quant {

// What the Qat layers share: float parameters, a weight FakeQuantize, and the "effective"
// weight/bias (after any folding) that both the QAT forward and convert() use.
class QatLayer : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override;
  // The float weight and bias the layer computes with (BN folded in), differentiable; the
  // bias is undefined when the layer has none.
  virtual std::pair<Tensor, Tensor> effective_weight_bias() const = 0;
  // The QParams of effective weight: observed afresh when the weight FakeQuantize observes,
  // else the frozen ones; non-linear weights: their codebook's (per tensor, 8-bit).
  QParams weight_qparams();
  WeightMethod weight_method() const { return weight_method_; }
  int weight_bits() const { return weight_fq_->options().scheme.bits; }
  // What the forward computes with in place of w (no gradient): fake_quantize(w) or the
  // codebook's s * level[index].
  Tensor quantized_weight(const Tensor& w);
  FakeQuantize& weight_fake_quant() { return *weight_fq_; }
  // The FakeQuantize whose grid this layer's input is on (null: the bias stays float).
  void set_input_quantizer(std::shared_ptr<FakeQuantize> input) { input_fq_ = std::move(input); }
  // The integer layer this one becomes, with its current (folded, quantized) weights, for these
  // input and output qparams and a fused ReLU or not.
  std::unique_ptr<IntLayer> integer_twin(const QParams& in, const QParams& out, bool relu);
  // The integer twin's uint8 output codes for the input of the last forward (NCHW, or [N, out]),
  // or an empty Tensor when the exact forward does not apply (see the header comment).
  Tensor integer_output(const QParams& out, bool relu);
  // The layer's float computation with weight w and bias b (undefined: none), differentiable:
  // linear(x, w, b) or conv2d with the layer's stride, padding, dilation and groups.
  virtual Tensor apply(const Tensor& x, const Tensor& w, const Tensor& b) const = 0;
  // Edits of the effective weight and bias (post-training repair, quant/repair/), in place and
  // outside autograd; with BN folded they go through the fold (the stored conv weight becomes
  // w / s[o], the shift goes into BN's beta). add_to_bias gives a layer without a bias a zero
  // one first. delta [out], w the effective weight's shape.
  virtual void add_to_bias(const Tensor& delta) = 0;
  virtual void set_effective_weight(const Tensor& w) = 0;

 protected:
  QatLayer(const QScheme& weight_scheme, WeightMethod weight_method);
  // The integer layer of these GEMM parameters (the geometry is the layer's own).
  virtual std::unique_ptr<IntLayer> make_integer(IntGemmParams p) const = 0;
  // add_to_bias of a layer whose bias is its own parameter (undefined: none yet, has_bias false).
  void add_to_stored_bias(Tensor& bias, bool& has_bias, const Tensor& weight, const Tensor& delta, const char* what);
  std::shared_ptr<FakeQuantize> weight_fq_;

 private:
  // The GEMM parameters of the integer twin for a weight quantized by w_qp (linear) or codebook.
  IntGemmParams gemm_params(const Tensor& w, const Tensor& b, const QParams& w_qp, const IntCodebook* codebook,
                            const QParams& in, const QParams& out, bool relu) const;

  WeightMethod weight_method_;
  std::shared_ptr<FakeQuantize> input_fq_;
  // What the last forward quantized, kept until its FakeQuantize asks for the integer codes, so
  // the integer twin is built from it rather than by folding and quantizing the weight again.
  struct Pending {
    Tensor input_codes;  // uint8, on the input grid
    QParams input_qparams;
    Tensor weight, bias;  // effective, detached (the bias before its rounding)
    QParams weight_qparams;
    std::optional<IntCodebook> codebook;  // non-linear weights
  };
  std::optional<Pending> pending_;
};

class QatLinear : public QatLayer {
 public:
  // Copies float's weight and bias (the float layer is left untouched).
  QatLinear(const nn::Linear& float_layer, const QScheme& weight_scheme,
            WeightMethod weight_method = WeightMethod::Linear);
  std::pair<Tensor, Tensor> effective_weight_bias() const override { return {weight_, bias_}; }
  std::string type_name() const override { return "QatLinear"; }
  std::string options_str() const override;
  const nn::LinearOptions& options() const { return options_; }
  Tensor apply(const Tensor& x, const Tensor& w, const Tensor& b) const override;
  void add_to_bias(const Tensor& delta) override;
  void set_effective_weight(const Tensor& w) override;

 private:
  std::unique_ptr<IntLayer> make_integer(IntGemmParams p) const override;
  nn::LinearOptions options_;
  Tensor weight_, bias_;
};

class QatConv2d : public QatLayer {
 public:
  QatConv2d(const nn::Conv2d& float_layer, const QScheme& weight_scheme,
            WeightMethod weight_method = WeightMethod::Linear);
  std::pair<Tensor, Tensor> effective_weight_bias() const override { return {weight_, bias_}; }
  std::string type_name() const override { return "QatConv2d"; }
  std::string options_str() const override;
  const nn::Conv2dOptions& options() const { return options_; }
  Tensor apply(const Tensor& x, const Tensor& w, const Tensor& b) const override;
  void add_to_bias(const Tensor& delta) override;
  void set_effective_weight(const Tensor& w) override;

 protected:
  std::unique_ptr<IntLayer> make_integer(IntGemmParams p) const override;
  nn::Conv2dOptions options_;
  Tensor weight_, bias_;
};

class QatConvBn2d : public QatConv2d {
 public:
  QatConvBn2d(const nn::Conv2d& conv, const nn::BatchNorm2d& bn, const QScheme& weight_scheme,
              WeightMethod weight_method = WeightMethod::Linear);
  std::pair<Tensor, Tensor> effective_weight_bias() const override;
  // s[o] = gamma[o] / sqrt(running_var[o] + eps), [O]: effective weight = stored weight * s.
  Tensor fold_scale() const;
  std::string type_name() const override { return "QatConvBn2d"; }
  void add_to_bias(const Tensor& delta) override;
  void set_effective_weight(const Tensor& w) override;

 private:
  float eps_;
  Tensor gamma_, beta_, running_mean_, running_var_;
};

// Makes `output` (the FakeQuantize closing `layer`, after its fused ReLU if relu) forward the
// integer model's codes (the "exact forward" above). The link holds the layer weakly.
void reproduce_integer_output(const std::shared_ptr<QatLayer>& layer, FakeQuantize& output, bool relu);

}  // namespace qgrad::quant
