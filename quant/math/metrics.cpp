#include "quant/math/metrics.h"

#include <cmath>
#include <limits>

#include "core/ops/op_support.h"
#include "quant/math/channel_runs.h"
#include "quant/math/quantize.h"

namespace qgrad::quant {

namespace {

struct Powers {
  double signal = 0, noise = 0;
  int64_t n = 0;
};

Powers powers(const Tensor& x, const Tensor& x_hat, const char* op) {
  qgrad::detail::require_float(x, op);
  qgrad::detail::require_float(x_hat, op);
  check(x.shape() == x_hat.shape(), op, "shapes ", shape_str(x.shape()), " and ", shape_str(x_hat.shape()),
        " differ");
  check(x.numel() > 0, op, "got empty tensors of shape ", shape_str(x.shape()));
  Tensor a = qgrad::detail::compact(x), b = qgrad::detail::compact(x_hat);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  Powers p;
  p.n = a.numel();
  for (int64_t i = 0; i < p.n; ++i) {
    const double d = double(pa[i]) - double(pb[i]);
    p.signal += double(pa[i]) * pa[i];
    p.noise += d * d;
  }
  return p;
}

}  // namespace

double mse(const Tensor& x, const Tensor& x_hat) {
  Powers p = powers(x, x_hat, "mse");
  return p.noise / static_cast<double>(p.n);
}

double sqnr_db(const Tensor& x, const Tensor& x_hat) {
  Powers p = powers(x, x_hat, "sqnr_db");
  check(p.signal > 0, "sqnr_db", "the signal of shape ", shape_str(x.shape()), " is all zero");
  if (p.noise == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(p.signal / p.noise);
}

double clipped_fraction(const Tensor& x, const QParams& qp) {
  qgrad::detail::require_float(x, "clipped_fraction");
  check(x.numel() > 0, "clipped_fraction", "got an empty tensor of shape ", shape_str(x.shape()));
  const int64_t axis = qp.validate_for(x.shape(), "clipped_fraction");
  Tensor xc = qgrad::detail::compact(x);
  const float* p = xc.data<float>();
  int64_t clipped = 0;
  for (const auto& r : detail::channel_runs(x.shape(), qp.per_channel(), axis)) {
    for (int64_t i = r.start; i < r.start + r.count; ++i) {
      const float u = quantize_unclamped(p[i], qp.scale[r.channel], qp.zero_point[r.channel]);
      clipped += in_clip_range(u, qp.qmin(), qp.qmax()) ? 0 : 1;
    }
  }
  return static_cast<double>(clipped) / static_cast<double>(x.numel());
}

}  // namespace qgrad::quant
