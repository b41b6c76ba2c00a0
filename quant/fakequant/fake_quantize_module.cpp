#include "quant/fakequant/fake_quantize_module.h"

#include "core/autograd.h"
#include "core/error.h"
#include "core/ops/elementwise.h"
#include "quant/math/quantize.h"

namespace qgrad::quant {

std::unique_ptr<Observer> make_observer(ObserverKind kind, const QScheme& scheme) {
  switch (kind) {
    case ObserverKind::MinMax: return std::make_unique<MinMaxObserver>(scheme);
    case ObserverKind::MovingAverage: return std::make_unique<MovingAverageMinMaxObserver>(scheme);
    case ObserverKind::Percentile: return std::make_unique<PercentileObserver>(scheme);
    case ObserverKind::Mse: return std::make_unique<MseObserver>(scheme);
  }
  fail("make_observer", "unknown observer kind");
}

FakeQuantize::FakeQuantize(const FakeQuantizeOptions& options)
    : options_(options), observer_(make_observer(options.observer, options.scheme)) {}

void FakeQuantize::observe(const Tensor& x) {
  NoGradGuard no_grad;
  if (options_.track_current) observer_ = make_observer(options_.observer, options_.scheme);
  observer_->observe(x.detach());
  ++version_;
}

Tensor FakeQuantize::forward(const Tensor& x) {
  if (observe_) observe(x);
  if (!fake_quant_) return x;
  const Tensor y = fake_quantize(x, qparams());
  const Tensor codes = exact_codes_ ? exact_codes_(qparams()) : Tensor();
  if (!codes.defined()) return y;
  check(codes.shape() == y.shape(), "FakeQuantize", "exact codes ", shape_str(codes.shape()), " for a tensor of ",
        shape_str(y.shape()));
  Tensor correction;
  {
    NoGradGuard no_grad;
    correction = sub(dequantize(codes, qparams()), y.detach());
  }
  return add(y, correction);
}

const QParams& FakeQuantize::qparams() const {
  check(observer_->has_observed(), "FakeQuantize",
        "has no quantization parameters yet: it has observed nothing (run calibration data "
        "through the model with observation on first)");
  if (cached_at_ != version_) {
    cached_ = observer_->qparams();
    cached_at_ = version_;
  }
  return cached_;
}

std::string FakeQuantize::options_str() const {
  const QScheme& s = options_.scheme;
  return cat("bits=", s.bits, ", ", s.symmetric ? "symmetric" : "asymmetric",
             s.axis ? cat(", axis=", *s.axis) : std::string(), ", observer=",
             to_string(options_.observer), ", observe=", observe_ ? "on" : "off",
             ", fake_quant=", fake_quant_ ? "on" : "off");
}

namespace {
template <class F>
void for_each_fake_quantize(nn::Module& module, F f) {
  if (auto* fq = dynamic_cast<FakeQuantize*>(&module)) f(*fq);
  for (const auto& [name, m] : module.named_modules())
    if (auto* fq = dynamic_cast<FakeQuantize*>(m.get())) f(*fq);
}
}  // namespace

void set_observe(nn::Module& module, bool on) {
  for_each_fake_quantize(module, [on](FakeQuantize& fq) { fq.set_observe(on); });
}
void set_fake_quant(nn::Module& module, bool on) {
  for_each_fake_quantize(module, [on](FakeQuantize& fq) { fq.set_fake_quant(on); });
}

}  // namespace qgrad::quant
