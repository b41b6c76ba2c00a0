// FakeQuantize: a layer that stands for "this tensor is quantized here" in a float network.
//   forward(x): if observe:    observer.observe(x)           (records the range, no graph)
//               if fake_quant: x_hat = fake_quantize(x, qp)  (quantize-dequantize, STE backward)
//               else:          x
//   qp = the observer's current QParams (cached until the observer sees more data).
// The two switches are PyTorch's enable_observer / enable_fake_quant: PTQ calibrates with
// observe on and fake_quant off, then evaluates with observe off ("frozen") and fake_quant on;
// QAT trains with both on and may freeze the observers later so the ranges stop moving.
// track_current: the observer forgets everything before each observation, so qp describes the
// latest tensor only — what weights want (their range is the current weights', not a history).
// exact codes: the FakeQuantize that closes a QAT layer (quant/fakequant/qat_modules.h) can ask
// that layer for the integer model's own output codes, given its output qparams; the forward
// value is then those codes dequantized, while the gradient is fake_quantize's (straight through
// inside the range), so the fake-quant model predicts the integer model exactly:
//   x_hat = fq(x) + detach(dequantize(codes(qp), qp) - fq(x))
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "nn/module.h"
#include "quant/math/observer.h"
#include "quant/fakequant/qconfig.h"

namespace qgrad::quant {

struct FakeQuantizeOptions {
  QScheme scheme;
  ObserverKind observer = ObserverKind::MinMax;
  bool track_current = false;
};

// A fresh observer of this kind (MovingAverage uses averaging constant 0.01).
std::unique_ptr<Observer> make_observer(ObserverKind kind, const QScheme& scheme);

class FakeQuantize : public nn::Module {
 public:
  explicit FakeQuantize(const FakeQuantizeOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "FakeQuantize"; }
  std::string options_str() const override;

  // Feeds x to the observer whatever the switches say.
  void observe(const Tensor& x);
  void set_observe(bool on) { observe_ = on; }
  void set_fake_quant(bool on) { fake_quant_ = on; }
  bool observing() const { return observe_; }
  bool fake_quantizing() const { return fake_quant_; }
  bool has_qparams() const { return observer_->has_observed(); }
  // The integer codes of this tensor as the integer model computes them (empty Tensor: none
  // this time), for the output qparams qp; see "exact codes" above.
  using ExactCodes = std::function<Tensor(const QParams& qp)>;
  void set_exact_codes(ExactCodes codes) { exact_codes_ = std::move(codes); }
  // The current QParams; fails naming this module when nothing has been observed yet.
  const QParams& qparams() const;
  const FakeQuantizeOptions& options() const { return options_; }

 private:
  FakeQuantizeOptions options_;
  std::unique_ptr<Observer> observer_;
  bool observe_ = true, fake_quant_ = true;
  ExactCodes exact_codes_;
  mutable QParams cached_;
  int64_t version_ = 0;             // counts observations, so cached_ knows when it is stale
  mutable int64_t cached_at_ = -1;  // the version cached_ belongs to
};

// Sets the switch on every FakeQuantize in module (itself included).
void set_observe(nn::Module& module, bool on);
void set_fake_quant(nn::Module& module, bool on);

}  // namespace qgrad::quant
