#include "quant/math/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/ops/op_support.h"
#include "quant/math/channel_runs.h"
#include "quant/math/metrics.h"
#include "quant/math/quantize.h"
#if QGRAD_HAVE_CUDA
#include "quant/kernels/cuda/fake_quant_cuda.h"
#endif

namespace qgrad::quant {

namespace {

#if QGRAD_HAVE_CUDA
constexpr bool kHaveCuda = true;
#else
constexpr bool kHaveCuda = false;
#endif

// x as a contiguous float buffer, after the checks every observer makes; a CUDA tensor only
// where the caller can take one (the range observers in a CUDA build).
Tensor checked_values(const Tensor& x, const std::string& name, bool cuda_ok = false) {
  qgrad::detail::require_float(x, name.c_str());
  check(x.numel() > 0, name.c_str(), "observed an empty tensor of shape ", shape_str(x.shape()));
  check(x.device() == Device::CPU || (cuda_ok && x.device() == Device::CUDA), name.c_str(), "observes ",
        cuda_ok ? "cpu and cuda" : "cpu", " tensors, got a ", device_name(x.device()), " tensor");
  return qgrad::detail::compact(x);
}

// Called per element: the message (and its shape string) is built only when it fails.
void require_finite(float v, const std::string& name, const Tensor& x) {
  if (!std::isfinite(v))
    fail(name.c_str(), "observed a non-finite value (", v, ") in a tensor of shape ", shape_str(x.shape()));
}

}  // namespace

// --- Observer -------------------------------------------------------------------------------

Observer::Observer(QScheme scheme, std::string name) : scheme_(scheme), name_(std::move(name)) {
  check_bits(scheme_.bits, name_.c_str());
}

void Observer::require_observed() const {
  check(has_observed(), name_.c_str(), "qparams() called before any observe()");
}

// --- RangeObserver --------------------------------------------------------------------------

QParams RangeObserver::qparams() const {
  require_observed();
  if (scheme_.axis) return qparams_from_range(min_, max_, scheme_);
  return qparams_from_range(min_[0], max_[0], scheme_);
}

void RangeObserver::observe(const Tensor& x) {
  Tensor xc = checked_values(x, name_, kHaveCuda);
  int64_t axis = 0;
  if (scheme_.axis) {
    axis = normalize_axis(*scheme_.axis, x.dim(), name_.c_str());
    check(!has_observed() || x.size(axis) == static_cast<int64_t>(min_.size()), name_.c_str(), "axis ",
          *scheme_.axis, " of shape ", shape_str(x.shape()), " has ", x.size(axis),
          " channels, but earlier tensors had ", min_.size());
  }
  const int64_t channels = scheme_.axis ? x.size(axis) : 1;
  std::vector<float> lo(channels, std::numeric_limits<float>::infinity());
  std::vector<float> hi(channels, -std::numeric_limits<float>::infinity());
#if QGRAD_HAVE_CUDA
  if (xc.device() == Device::CUDA) {
    // This batch's range on the GPU (fake_quant_cuda.h: the same first-occurring extremes as
    // the loop below); only the per-channel bounds come back to the host.
    cuda::ChannelLayout layout;
    layout.inner = xc.numel();
    if (scheme_.axis) {
      layout.channels = channels;
      layout.inner = 1;
      for (int64_t i = 0; i < axis; ++i) layout.outer *= xc.size(i);
      for (int64_t i = axis + 1; i < xc.dim(); ++i) layout.inner *= xc.size(i);
    }
    check(cuda::channel_min_max_cuda(static_cast<const float*>(xc.raw_data()), layout, lo.data(), hi.data()),
          name_.c_str(), "observed a non-finite value in a tensor of shape ", shape_str(x.shape()));
    fold_range(lo, hi);
    return;
  }
#endif
  const float* p = xc.data<float>();
  for (const auto& r : detail::channel_runs(x.shape(), scheme_.axis.has_value(), axis)) {
    for (int64_t i = r.start; i < r.start + r.count; ++i) {
      require_finite(p[i], name_, x);
      lo[r.channel] = std::min(lo[r.channel], p[i]);
      hi[r.channel] = std::max(hi[r.channel], p[i]);
    }
  }
  fold_range(lo, hi);
}

void RangeObserver::fold_range(std::vector<float>& lo, std::vector<float>& hi) {
  if (!has_observed()) {
    min_ = std::move(lo);
    max_ = std::move(hi);
  } else {
    for (size_t c = 0; c < lo.size(); ++c) {
      min_[c] = update(min_[c], lo[c], true);
      max_[c] = update(max_[c], hi[c], false);
    }
  }
  ++observations_;
}

MinMaxObserver::MinMaxObserver(QScheme scheme) : RangeObserver(scheme, "MinMaxObserver") {}

float MinMaxObserver::update(float running, float batch, bool lower) const {
  return lower ? std::min(running, batch) : std::max(running, batch);
}

MovingAverageMinMaxObserver::MovingAverageMinMaxObserver(QScheme scheme, float averaging_constant)
    : RangeObserver(scheme, "MovingAverageMinMaxObserver"), c_(averaging_constant) {
  check(c_ > 0.f && c_ <= 1.f, name_.c_str(), "averaging constant must be in (0, 1], got ", c_);
}

// The same rule for both bounds: an exponential moving average.
float MovingAverageMinMaxObserver::update(float running, float batch, bool) const {
  return (1.f - c_) * running + c_ * batch;
}

// --- SampleObserver -------------------------------------------------------------------------

SampleObserver::SampleObserver(QScheme scheme, std::string name) : Observer(scheme, std::move(name)) {
  check(!scheme_.axis, name_.c_str(), "is per-tensor only, got a per-channel scheme (axis ", *scheme_.axis,
        "); use MinMaxObserver or MovingAverageMinMaxObserver per channel");
}

void SampleObserver::observe(const Tensor& x) {
  Tensor xc = checked_values(x, name_);
  const float* p = xc.data<float>();
  for (int64_t i = 0; i < xc.numel(); ++i) require_finite(p[i], name_, x);
  values_.insert(values_.end(), p, p + xc.numel());
  ++observations_;
}

// --- PercentileObserver ---------------------------------------------------------------------

float percentile(std::vector<float> values, double p) {
  check(!values.empty(), "percentile", "of an empty list");
  check(p >= 0.0 && p <= 100.0, "percentile", "p must be in [0, 100], got ", p);
  const double pos = p / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + lo, values.end());
  const double a = values[lo];
  // After nth_element the next order statistic is the smallest value above position lo.
  const double b = hi == lo ? a : *std::min_element(values.begin() + lo + 1, values.end());
  return static_cast<float>(a + (pos - static_cast<double>(lo)) * (b - a));
}

PercentileObserver::PercentileObserver(QScheme scheme, double percentile)
    : SampleObserver(scheme, "PercentileObserver"), percentile_(percentile) {
  check(percentile_ > 50.0 && percentile_ <= 100.0, name_.c_str(), "percentile must be in (50, 100], got ",
        percentile_);
}

QParams PercentileObserver::qparams() const {
  require_observed();
  if (scheme_.symmetric) {
    std::vector<float> mags(values_.size());
    std::transform(values_.begin(), values_.end(), mags.begin(), [](float v) { return std::abs(v); });
    const float amax = percentile(std::move(mags), percentile_);
    return qparams_from_range(-amax, amax, scheme_);
  }
  return qparams_from_range(percentile(values_, 100.0 - percentile_), percentile(values_, percentile_), scheme_);
}

// --- MseObserver ----------------------------------------------------------------------------

MseObserver::MseObserver(QScheme scheme, int steps) : SampleObserver(scheme, "MseObserver"), steps_(steps) {
  check(steps_ >= 1, name_.c_str(), "steps must be at least 1, got ", steps_);
}

QParams MseObserver::qparams() const {
  require_observed();
  const auto [mn, mx] = std::minmax_element(values_.begin(), values_.end());
  const float amax = std::max(std::abs(*mn), std::abs(*mx));
  const Tensor x = from_vector(values_, {static_cast<int64_t>(values_.size())});
  QParams best;
  double best_mse = std::numeric_limits<double>::infinity();
  for (int i = steps_; i >= 1; --i) {
    const float f = static_cast<float>(i) / static_cast<float>(steps_);
    QParams qp = scheme_.symmetric ? qparams_from_range(-amax * f, amax * f, scheme_)
                                   : qparams_from_range(*mn * f, *mx * f, scheme_);
    const double err = mse(x, fake_quantize(x, qp));
    if (err < best_mse) {
      best_mse = err;
      best = qp;
    }
  }
  return best;
}

}  // namespace qgrad::quant
