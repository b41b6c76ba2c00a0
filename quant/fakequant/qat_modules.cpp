#include "quant/fakequant/qat_modules.h"

#include <algorithm>
#include <cmath>

#include "core/autograd.h"
#include "core/error.h"
#include "core/ops/conv.h"
#include "core/ops/elementwise.h"
#include "core/ops/matmul.h"
#include "quant/math/quantize.h"

namespace qgrad::quant {

namespace {
// A detached copy of a float layer's tensor (undefined stays undefined).
Tensor copy_of(const Tensor& t) { return t.defined() ? t.detach().clone() : Tensor(); }

// target += delta, in place and outside autograd (target is a parameter leaf).
void add_in_place(Tensor& target, const Tensor& delta, const char* what) {
  check(delta.shape() == target.shape(), what, "a change of shape ", shape_str(delta.shape()), " for a tensor of ",
        shape_str(target.shape()));
  NoGradGuard no_grad;
  target.copy_(add(target.detach(), delta.detach().to(target.device())));
}

void set_in_place(Tensor& target, const Tensor& value, const char* what) {
  check(value.shape() == target.shape(), what, "a weight of shape ", shape_str(value.shape()), " for a weight of ",
        shape_str(target.shape()));
  NoGradGuard no_grad;
  target.copy_(value.detach());
}
}  // namespace

QatLayer::QatLayer(const QScheme& weight_scheme, WeightMethod weight_method)
    : weight_fq_(register_module("weight_fake_quant",
                                 std::make_shared<FakeQuantize>(FakeQuantizeOptions{
                                     .scheme = weight_scheme, .track_current = true}))),
      weight_method_(weight_method) {
  if (weight_method != WeightMethod::Linear)
    check(weight_scheme.symmetric, "QatLayer", to_string(weight_method),
          " weights are symmetric (levels around 0, zero point 0); got an asymmetric weight scheme");
}

namespace {
// b_q = round(b / (s_in s_w[o])) s_in s_w[o], differentiable as the identity (see the header).
Tensor fake_quantize_bias(const Tensor& b, float s_in, const QParams& w) {
  const std::vector<float> v = b.detach().to_vector();
  std::vector<float> delta(v.size());
  for (size_t o = 0; o < v.size(); ++o) {
    const double step = static_cast<double>(s_in) * w.scale[w.per_channel() ? o : 0];
    delta[o] = static_cast<float>(std::round(static_cast<double>(v[o]) / step) * step - v[o]);
  }
  return add(b, from_vector<float>(delta, b.shape()).to(b.device()));  // the bias may live on the GPU
}

bool symmetric(const QParams& w) {
  return w.is_signed && std::all_of(w.zero_point.begin(), w.zero_point.end(), [](int32_t z) { return z == 0; });
}
bool unsigned_per_tensor(const QParams& a) { return !a.is_signed && !a.per_channel(); }
}  // namespace

Tensor QatLayer::forward(const Tensor& x) {
  auto [w, b] = effective_weight_bias();
  Tensor wq = w;
  QParams w_qp;
  std::optional<IntCodebook> codebook;
  if (weight_method_ == WeightMethod::Linear) {
    wq = (*weight_fq_)(w);
    if (weight_fq_->fake_quantizing()) w_qp = weight_fq_->qparams();
  } else if (weight_fq_->fake_quantizing()) {
    codebook = int_codebook(w.detach(), weight_method_, weight_bits());
    w_qp = codebook->qparams();
    // Straight through: the forward value is the codebook's, the gradient reaches w unchanged.
    wq = add(w, sub(codebook->reconstruct(), w.detach()));
  }
  pending_.reset();
  if (input_fq_ && weight_fq_->fake_quantizing() && input_fq_->fake_quantizing() && input_fq_->has_qparams()) {
    const QParams in_qp = input_fq_->qparams();
    // The exact codes come from the integer layer run on the CPU: for an input on the GPU the
    // forward is plain fake quantization (fake_quantize runs there; see fake_quant_cuda.h).
    if (symmetric(w_qp) && unsigned_per_tensor(in_qp) && x.device() == Device::CPU) {
      NoGradGuard no_grad;
      pending_ = Pending{quantize(x.detach().contiguous(), in_qp), in_qp, w.detach(),
                         b.defined() ? b.detach() : Tensor(), w_qp, std::move(codebook)};
    }
    if (b.defined()) b = fake_quantize_bias(b, in_qp.scale[0], w_qp);
  }
  return apply(x, wq, b);
}

void QatLayer::add_to_stored_bias(Tensor& bias, bool& has_bias, const Tensor& weight, const Tensor& delta,
                                  const char* what) {
  if (!bias.defined()) {  // a zero bias [out], registered as the float layer's would have been
    bias = register_parameter("bias", zeros({weight.size(0)}, DType::Float32, weight.device()));
    has_bias = true;
  }
  add_in_place(bias, delta, what);
}

IntGemmParams QatLayer::gemm_params(const Tensor& w, const Tensor& b, const QParams& w_qp, const IntCodebook* codebook,
                                    const QParams& in, const QParams& out, bool relu) const {
  if (codebook) return IntGemmParams::from_codebook(*codebook, weight_method_, b, in, out, relu);
  return IntGemmParams::from_float(w, b, w_qp, in, out, relu);
}

std::unique_ptr<IntLayer> QatLayer::integer_twin(const QParams& in, const QParams& out, bool relu) {
  NoGradGuard no_grad;
  const auto [w, b] = effective_weight_bias();
  if (weight_method_ == WeightMethod::Linear)
    return make_integer(gemm_params(w, b, weight_qparams(), nullptr, in, out, relu));
  const IntCodebook codebook = int_codebook(w, weight_method_, weight_bits());
  return make_integer(gemm_params(w, b, codebook.qparams(), &codebook, in, out, relu));
}

Tensor QatLayer::quantized_weight(const Tensor& w) {
  NoGradGuard no_grad;
  if (weight_method_ != WeightMethod::Linear) return int_codebook(w, weight_method_, weight_bits()).reconstruct();
  return fake_quantize(w.detach(), weight_qparams());
}

Tensor QatLayer::integer_output(const QParams& out, bool relu) {
  if (!pending_ || !unsigned_per_tensor(out)) return Tensor();
  const Pending p = std::move(*pending_);
  pending_.reset();
  NoGradGuard no_grad;
  const auto twin = make_integer(gemm_params(p.weight, p.bias, p.weight_qparams, p.codebook ? &*p.codebook : nullptr,
                                             p.input_qparams, out, relu));
  // The integer layers take 4-D activations channels last (quant/intmodel/int_modules.h).
  if (p.input_codes.dim() != 4) return twin->run(p.input_codes);
  return twin->run(p.input_codes.permute({0, 2, 3, 1}).contiguous()).permute({0, 3, 1, 2}).contiguous();
}

void reproduce_integer_output(const std::shared_ptr<QatLayer>& layer, FakeQuantize& output, bool relu) {
  output.set_exact_codes([weak = std::weak_ptr<QatLayer>(layer), relu](const QParams& qp) {
    const auto l = weak.lock();
    return l ? l->integer_output(qp, relu) : Tensor();
  });
}

QParams QatLayer::weight_qparams() {
  if (weight_method_ != WeightMethod::Linear) {
    NoGradGuard no_grad;
    return int_codebook(effective_weight_bias().first, weight_method_, weight_bits()).qparams();
  }
  if (weight_fq_->observing() || !weight_fq_->has_qparams()) {
    NoGradGuard no_grad;
    weight_fq_->observe(effective_weight_bias().first);
  }
  return weight_fq_->qparams();
}

QatLinear::QatLinear(const nn::Linear& f, const QScheme& weight_scheme, WeightMethod weight_method)
    : QatLayer(weight_scheme, weight_method), options_(f.options()) {
  weight_ = register_parameter("weight", copy_of(f.weight()));
  if (options_.bias) bias_ = register_parameter("bias", copy_of(f.bias()));
}

Tensor QatLinear::apply(const Tensor& x, const Tensor& w, const Tensor& b) const {
  return linear(x, w, b);
}

void QatLinear::add_to_bias(const Tensor& delta) {
  add_to_stored_bias(bias_, options_.bias, weight_, delta, "QatLinear::add_to_bias");
}

void QatLinear::set_effective_weight(const Tensor& w) { set_in_place(weight_, w, "QatLinear::set_effective_weight"); }

std::unique_ptr<IntLayer> QatLinear::make_integer(IntGemmParams p) const {
  return std::make_unique<QuantizedLinear>(std::move(p));
}

std::string QatLinear::options_str() const {
  return cat("in=", options_.in, ", out=", options_.out, ", bias=", options_.bias ? "true" : "false");
}

QatConv2d::QatConv2d(const nn::Conv2d& f, const QScheme& weight_scheme, WeightMethod weight_method)
    : QatLayer(weight_scheme, weight_method), options_(f.options()) {
  weight_ = register_parameter("weight", copy_of(f.weight()));
  if (options_.bias) bias_ = register_parameter("bias", copy_of(f.bias()));
}

Tensor QatConv2d::apply(const Tensor& x, const Tensor& w, const Tensor& b) const {
  return conv2d(x, w, b, {.stride = options_.stride, .padding = options_.padding,
                          .dilation = options_.dilation, .groups = options_.groups});
}

void QatConv2d::add_to_bias(const Tensor& delta) {
  add_to_stored_bias(bias_, options_.bias, weight_, delta, "QatConv2d::add_to_bias");
}

void QatConv2d::set_effective_weight(const Tensor& w) { set_in_place(weight_, w, "QatConv2d::set_effective_weight"); }

std::unique_ptr<IntLayer> QatConv2d::make_integer(IntGemmParams p) const {
  const IntConvShape shape{.in = options_.in, .out = options_.out, .kernel_h = weight_.size(2),
                           .kernel_w = weight_.size(3), .stride = options_.stride, .padding = options_.padding,
                           .dilation = options_.dilation, .groups = options_.groups};
  return std::make_unique<QuantizedConv2d>(std::move(p), shape);
}

std::string QatConv2d::options_str() const {
  const int64_t kw = weight_.size(3);
  return cat("in=", options_.in, ", out=", options_.out, ", kernel=", options_.kernel,
             kw == options_.kernel ? std::string() : cat("x", kw), ", stride=", options_.stride, ", padding=",
             options_.padding, options_.dilation != 1 ? cat(", dilation=", options_.dilation) : std::string(),
             options_.groups != 1 ? cat(", groups=", options_.groups) : std::string());
}

QatConvBn2d::QatConvBn2d(const nn::Conv2d& conv, const nn::BatchNorm2d& bn,
                         const QScheme& weight_scheme, WeightMethod weight_method)
    : QatConv2d(conv, weight_scheme, weight_method), eps_(bn.options().eps) {
  const int64_t C = bn.options().features;
  check(C == options_.out, "QatConvBn2d", "BatchNorm2d has ", C,
        " features but the conv before it has ", options_.out, " output channels");
  gamma_ = register_parameter("bn_weight", bn.options().affine ? copy_of(bn.weight()) : ones({C}));
  beta_ = register_parameter("bn_bias", bn.options().affine ? copy_of(bn.bias()) : zeros({C}));
  running_mean_ = register_buffer("bn_running_mean", copy_of(bn.running_mean()));
  running_var_ = register_buffer("bn_running_var", copy_of(bn.running_var()));
}

Tensor QatConvBn2d::fold_scale() const { return div(gamma_, sqrt(add(running_var_, eps_))); }

std::pair<Tensor, Tensor> QatConvBn2d::effective_weight_bias() const {
  const Tensor s = fold_scale();  // [O]
  const Tensor w = mul(weight_, s.reshape({options_.out, 1, 1, 1}));
  const Tensor shifted = bias_.defined() ? sub(bias_, running_mean_) : neg(running_mean_);
  return {w, add(beta_, mul(shifted, s))};
}

// effective bias = beta + (b - running_mean) s: a shift of it is a shift of beta.
void QatConvBn2d::add_to_bias(const Tensor& delta) { add_in_place(beta_, delta, "QatConvBn2d::add_to_bias"); }

// effective weight = weight * s[o]: the stored weight is w / s[o] (a channel with s[o] = 0,
// gamma 0, computes 0 whatever its weight: its stored weight stays as it is).
void QatConvBn2d::set_effective_weight(const Tensor& w) {
  NoGradGuard no_grad;
  check(w.shape() == weight_.shape(), "QatConvBn2d::set_effective_weight", "a weight of shape ", shape_str(w.shape()),
        " for a weight of ", shape_str(weight_.shape()));
  const std::vector<float> s = fold_scale().to_vector();
  std::vector<float> stored = weight_.to_vector(), v = w.to_vector();
  const size_t per_channel = stored.size() / s.size();
  for (size_t i = 0; i < stored.size(); ++i)
    if (s[i / per_channel] != 0.f) stored[i] = v[i] / s[i / per_channel];
  set_in_place(weight_, from_vector<float>(stored, weight_.shape()), "QatConvBn2d::set_effective_weight");
}

}  // namespace qgrad::quant
