#include "quant/intmodel/dynamic.h"

#include <algorithm>

#include "core/autograd.h"
#include "core/error.h"
#include "quant/math/observer.h"
#include "quant/math/quantize.h"

namespace qgrad::quant {

DynamicQuantLinear::DynamicQuantLinear(const nn::Linear& f, const QGemmKernel& kernel) : options_(f.options()) {
  const Tensor w = f.weight().detach().contiguous();
  MinMaxObserver obs({.bits = 8, .symmetric = true, .axis = 0});
  obs.observe(w);
  weight_qp_ = obs.qparams();
  qweight_ = quantize(w, weight_qp_);
  if (options_.bias) bias_ = f.bias().detach().clone();
  packed_ = pack_weight(kernel, qweight_.data<int8_t>(), options_.out, options_.in);
}

std::string DynamicQuantLinear::options_str() const {
  return cat("in=", options_.in, ", out=", options_.out, ", bias=", options_.bias ? "true" : "false",
             ", weight=int8 per-channel, activation=uint8 per-batch");
}

void DynamicQuantLinear::check_input(const Tensor& x) const {
  // Written as if/fail, not check(): check's message arguments are evaluated on every call, and
  // formatting a shape per forward showed up in profiles at batch 1.
  if (!(x.defined() && x.dtype() == DType::Float32 && x.dim() == 2 && x.size(1) == options_.in && x.size(0) > 0))
    fail("DynamicQuantLinear", "expects a float32 input [N, ", options_.in, "] with N > 0, got ",
         x.defined() ? cat(shape_str(x.shape()), " ", dtype_name(x.dtype())) : std::string("an undefined tensor"));
  if (grad_mode_enabled() && x.requires_grad())
    fail("DynamicQuantLinear", "is inference only (no gradient flows through rounding to int8 here), but its input ",
         shape_str(x.shape()), " requires grad; run it under NoGradGuard, or use prepare_qat for "
         "quantization-aware training");
}

QParams DynamicQuantLinear::input_qparams(const Tensor& x) {
  check(x.defined() && x.dtype() == DType::Float32 && x.numel() > 0, "DynamicQuantLinear",
        "input_qparams needs a non-empty float32 tensor");
  const Tensor c = x.detach().contiguous();
  const float* p = c.data<float>();
  const auto [lo, hi] = std::minmax_element(p, p + c.numel());
  return qparams_from_range(*lo, *hi, {.bits = 8, .symmetric = false});
}

Tensor DynamicQuantLinear::accumulate(const Tensor& x, const QParams& x_qp) const {
  check_input(x);
  check(!x_qp.is_signed && !x_qp.per_channel() && x_qp.bits == 8, "DynamicQuantLinear",
        "activations must be uint8 per-tensor, got ", x_qp.bits, "-bit ",
        x_qp.is_signed ? "signed" : "unsigned", x_qp.per_channel() ? " per-channel" : " per-tensor");
  const Tensor qx = quantize(x.detach().contiguous(), x_qp);
  const int64_t n = x.size(0);
  Tensor acc = empty({n, options_.out}, DType::Int32);
  qgemm({.m = n, .a = qx.data<uint8_t>(), .lda = options_.in, .a_zero_point = x_qp.zero_point[0],
         .b = &packed_, .c_s32 = acc.data<int32_t>(), .ldc = options_.out});
  return acc;
}

Tensor DynamicQuantLinear::forward(const Tensor& x) {
  check_input(x);
  const QParams x_qp = input_qparams(x);
  const Tensor acc = accumulate(x, x_qp);
  const int64_t n = x.size(0), out = options_.out;
  // One float multiplier per output channel: s_x s_w[c], the value of one accumulator step.
  std::vector<float> step(static_cast<size_t>(out));
  for (int64_t c = 0; c < out; ++c)
    step[static_cast<size_t>(c)] =
        static_cast<float>(static_cast<double>(x_qp.scale[0]) * weight_qp_.scale[static_cast<size_t>(c)]);
  const float* b = bias_.defined() ? bias_.data<float>() : nullptr;
  const int32_t* a = acc.data<int32_t>();
  Tensor y = empty({n, out});
  float* py = y.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < out; ++c)
      py[i * out + c] = static_cast<float>(a[i * out + c]) * step[static_cast<size_t>(c)] + (b ? b[c] : 0.f);
  return y;
}

int64_t DynamicQuantLinear::weight_bytes() const {
  return qweight_.numel() + 4 * options_.out + (options_.bias ? 4 * options_.out : 0);
}

std::shared_ptr<nn::Sequential> quantize_dynamic(const nn::Sequential& model) {
  auto out = std::make_shared<nn::Sequential>();
  for (const auto& [name, m] : model.children()) {
    if (const auto* lin = dynamic_cast<const nn::Linear*>(m.get()))
      out->add(std::make_shared<DynamicQuantLinear>(*lin));
    else if (const auto* seq = dynamic_cast<const nn::Sequential*>(m.get()))
      out->add(quantize_dynamic(*seq));
    else
      out->add(m);
  }
  return out;
}

}  // namespace qgrad::quant
