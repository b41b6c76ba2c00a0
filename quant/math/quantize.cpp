#include "quant/math/quantize.h"

#include <atomic>
#include <cmath>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/op_support.h"
#include "quant/math/channel_runs.h"
#if QGRAD_HAVE_CUDA
#include "quant/kernels/cuda/fake_quant_cuda.h"
#endif

namespace qgrad::quant {

namespace {

// Checks a tensor against qp for op and returns its runs (see channel_runs.h).
std::vector<detail::ChannelRun> runs_for(const Tensor& t, const QParams& qp, const char* op) {
  check(t.defined(), op, "got an undefined tensor");
  check(t.device() == Device::CPU, op, "quantization runs on cpu tensors, got a ", device_name(t.device()),
        " tensor");
  const int64_t axis = qp.validate_for(t.shape(), op);
  return detail::channel_runs(t.shape(), qp.per_channel(), axis);
}

// q[i] = clamp(round(x[i] / scale) + zp, qmin, qmax) for i < n, round = half away from zero
// (std::round, as quantize_unclamped); returns how many x[i] / scale are NaN (their q[i] is
// qmin: the clamp sends NaN to the lower bound, so the conversion to int is always defined).
// The same integers as quantize_unclamped + clamp_q, written so that the compiler vectorizes
// the loop: std::round is a library call on x86-64's baseline ISA (SSE2 has no
// rounding instruction), which made quantizing a LeNet batch cost ~10% of the int8 model.
//   1. clamp first, to [qmin - zp, qmax - zp]: round is monotone and the bounds are integers, so
//      clamping before rounding gives the same result, and the value then fits an int32;
//   2. round(c) = trunc(c + copysign(h, c)) with h = 0.49999997 = 0x1.fffffep-2, the float just
//      below 1/2 (with 1/2 itself, 0.49999997 + 0.5 would round up to 1.0 in float).
// Checked against std::round + clamp_q on all 2^32 floats for several (zp, qmin, qmax).
template <class Q>
int64_t quantize_span(const float* __restrict x, Q* __restrict q, int64_t n, float scale, int32_t zp,
                      int32_t qmin, int32_t qmax) {
  const float z = static_cast<float>(zp), lo = static_cast<float>(qmin) - z, hi = static_cast<float>(qmax) - z;
  int64_t nans = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] / scale;
    nans += v != v;
    // ternaries, not std::min/max: GCC 12 then if-converts and vectorizes the loop
    const float b = v >= lo ? v : lo;
    const float c = b > hi ? hi : b;
    q[i] = static_cast<Q>(static_cast<int32_t>(c + std::copysign(0x1.fffffep-2f, c)) + zp);
  }
  return nans;
}

template <class Q>
void quantize_into(const float* x, Q* q, const QParams& qp, const std::vector<detail::ChannelRun>& runs,
                   int64_t n, std::atomic<bool>& saw_nan) {
  const int32_t qmin = qp.qmin(), qmax = qp.qmax();
  detail::for_each_run(runs, n, [&](const detail::ChannelRun& r) {
    if (quantize_span(x + r.start, q + r.start, r.count, qp.scale[r.channel], qp.zero_point[r.channel], qmin, qmax) > 0)
      saw_nan = true;
  });
}

template <class Q>
void dequantize_into(const Q* q, float* x, const QParams& qp, const std::vector<detail::ChannelRun>& runs,
                     int64_t n) {
  detail::for_each_run(runs, n, [&](const detail::ChannelRun& r) {
    const float s = qp.scale[r.channel];
    const int32_t zp = qp.zero_point[r.channel];
    for (int64_t i = r.start; i < r.start + r.count; ++i) x[i] = dequantize_value(static_cast<float>(q[i]), s, zp);
  });
}

}  // namespace

Tensor quantize(const Tensor& x, const QParams& qp) {
  qgrad::detail::require_float(x, "quantize");
  auto runs = runs_for(x, qp, "quantize");
  Tensor xc = qgrad::detail::compact(x);
  Tensor q = empty(x.shape(), qp.dtype());
  std::atomic<bool> saw_nan = false;
  if (qp.is_signed) {
    quantize_into(xc.data<float>(), q.data<int8_t>(), qp, runs, x.numel(), saw_nan);
  } else {
    quantize_into(xc.data<float>(), q.data<uint8_t>(), qp, runs, x.numel(), saw_nan);
  }
  check(!saw_nan, "quantize", "input of shape ", shape_str(x.shape()), " contains NaN");
  return q;
}

Tensor dequantize(const Tensor& q, const QParams& qp) {
  auto runs = runs_for(q, qp, "dequantize");
  check(q.dtype() == qp.dtype(), "dequantize", "QParams describe ", dtype_name(qp.dtype()), " data (",
        qp.is_signed ? "signed" : "unsigned", "), got a ", dtype_name(q.dtype()), " tensor of shape ",
        shape_str(q.shape()));
  Tensor qc = q.contiguous();
  Tensor x = empty(q.shape());
  if (qp.is_signed) {
    dequantize_into(qc.data<int8_t>(), x.data<float>(), qp, runs, q.numel());
  } else {
    dequantize_into(qc.data<uint8_t>(), x.data<float>(), qp, runs, q.numel());
  }
  return x;
}

#if QGRAD_HAVE_CUDA
namespace {
// fake_quantize of a CUDA tensor: the same rules, elementwise on the device (fake_quant_cuda.h).
// out and the mask are new tensors on x's device (zeros_like keeps it).
Tensor fake_quantize_cuda(const Tensor& x, const QParams& qp, bool want_mask) {
  check(x.defined(), "fake_quantize", "got an undefined tensor");
  const int64_t axis = qp.validate_for(x.shape(), "fake_quantize");
  const Tensor xc = qgrad::detail::compact(x);
  cuda::ChannelLayout layout;
  layout.inner = xc.numel();
  if (qp.per_channel()) {
    layout.channels = xc.size(axis);
    layout.outer = 1;
    layout.inner = 1;
    for (int64_t i = 0; i < axis; ++i) layout.outer *= xc.size(i);
    for (int64_t i = axis + 1; i < xc.dim(); ++i) layout.inner *= xc.size(i);
  }
  Tensor out = zeros_like(xc);
  Tensor mask = want_mask ? zeros_like(xc) : Tensor();
  cuda::fake_quantize_cuda(static_cast<const float*>(xc.raw_data()), static_cast<float*>(out.raw_data()),
                           want_mask ? static_cast<float*>(mask.raw_data()) : nullptr, layout, qp.scale.data(),
                           qp.zero_point.data(), qp.qmin(), qp.qmax());
  if (!want_mask) return out;
  return record(out, "fake_quantize", {x}, [mask](const Tensor& g) { return std::vector<Tensor>{mul(g, mask)}; });
}
}  // namespace
#endif

Tensor fake_quantize(const Tensor& x, const QParams& qp) {
  qgrad::detail::require_float(x, "fake_quantize");
  // The STE mask is only materialized when a backward can ask for it.
  const bool want_mask = grad_mode_enabled() && x.requires_grad();
#if QGRAD_HAVE_CUDA
  if (x.defined() && x.device() == Device::CUDA) return fake_quantize_cuda(x, qp, want_mask);
#endif
  auto runs = runs_for(x, qp, "fake_quantize");
  Tensor xc = qgrad::detail::compact(x);
  Tensor out = empty(x.shape());
  Tensor mask = want_mask ? empty(x.shape()) : Tensor();
  const float* xp = xc.data<float>();
  float* op = out.data<float>();
  float* mp = want_mask ? mask.data<float>() : nullptr;
  const int32_t qmin = qp.qmin(), qmax = qp.qmax();
  detail::for_each_run(runs, x.numel(), [&](const detail::ChannelRun& r) {
    const float s = qp.scale[r.channel];
    const int32_t zp = qp.zero_point[r.channel];
    for (int64_t i = r.start; i < r.start + r.count; ++i) {
      const float u = quantize_unclamped(xp[i], s, zp);
      op[i] = dequantize_value(clamp_q(u, qmin, qmax), s, zp);
      if (mp) mp[i] = in_clip_range(u, qmin, qmax) ? 1.f : 0.f;
    }
  });
  if (!want_mask) return out;
  return record(out, "fake_quantize", {x}, [mask](const Tensor& g) { return std::vector<Tensor>{mul(g, mask)}; });
}

}  // namespace qgrad::quant
