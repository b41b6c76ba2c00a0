#include "quant/quantize.h"

#include <atomic>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "core/ops/op_support.h"
#include "quant/channel_runs.h"

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

template <class Q>
void quantize_into(const float* x, Q* q, const QParams& qp, const std::vector<detail::ChannelRun>& runs,
                   int64_t n, std::atomic<bool>& saw_nan) {
  const int32_t qmin = qp.qmin(), qmax = qp.qmax();
  detail::for_each_run(runs, n, [&](const detail::ChannelRun& r) {
    const float s = qp.scale[r.channel];
    const int32_t zp = qp.zero_point[r.channel];
    for (int64_t i = r.start; i < r.start + r.count; ++i) {
      const float v = clamp_q(quantize_unclamped(x[i], s, zp), qmin, qmax);
      if (std::isnan(v)) {
        saw_nan = true;
        q[i] = 0;
      } else {
        q[i] = static_cast<Q>(v);
      }
    }
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

Tensor fake_quantize(const Tensor& x, const QParams& qp) {
  qgrad::detail::require_float(x, "fake_quantize");
  auto runs = runs_for(x, qp, "fake_quantize");
  Tensor xc = qgrad::detail::compact(x);
  Tensor out = empty(x.shape());
  // The STE mask is only materialized when a backward can ask for it.
  const bool want_mask = grad_mode_enabled() && x.requires_grad();
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
