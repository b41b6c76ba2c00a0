#include "quant/repair/layer_inputs.h"

#include <set>

#include "core/autograd.h"
#include "core/error.h"
#include "quant/fakequant/fake_quantize_module.h"

namespace qgrad::quant {

namespace {

// Keeps the input of every call to one module.
class InputRecorder : public nn::CallObserver {
 public:
  InputRecorder(const nn::Module& target, std::vector<Tensor>& out) : target_(target), out_(out) {}
  void enter(const nn::Module&) override {}
  void exit(const nn::Module& m, const std::vector<Tensor>& inputs, const Tensor&) override {
    if (&m == &target_ && !inputs.empty()) out_.push_back(inputs[0].detach());
  }

 private:
  const nn::Module& target_;
  std::vector<Tensor>& out_;
};

// Installs an observer for one scope, restoring the one before it.
class ObserverScope {
 public:
  explicit ObserverScope(nn::CallObserver* o) : previous_(nn::set_call_observer(o)) {}
  ~ObserverScope() { nn::set_call_observer(previous_); }
  ObserverScope(const ObserverScope&) = delete;
  ObserverScope& operator=(const ObserverScope&) = delete;

 private:
  nn::CallObserver* previous_;
};

}  // namespace

std::vector<NamedQatLayer> qat_layers(nn::Module& prepared) {
  std::vector<NamedQatLayer> out;
  for (const auto& [name, m] : prepared.named_modules())
    if (auto* layer = dynamic_cast<QatLayer*>(m.get())) out.push_back({name, layer});
  return out;
}

std::vector<Tensor> layer_inputs(nn::Module& model, const nn::Module& layer, const std::vector<Tensor>& batches,
                                 const std::string& name) {
  std::vector<Tensor> inputs;
  const bool was_training = model.is_training();
  model.eval();
  {
    NoGradGuard no_grad;
    InputRecorder recorder(layer, inputs);
    ObserverScope scope(&recorder);
    for (const Tensor& x : batches) model(x);
  }
  model.train(was_training);
  check(inputs.size() == batches.size(), "layer_inputs", "layer '", name, "' was called ", inputs.size(),
        " times on ", batches.size(), " batches (it must run once per forward)");
  return inputs;
}

void require_calibrated(nn::Module& prepared, const std::vector<Tensor>& batches, const char* op) {
  check(!batches.empty(), op, "needs at least one calibration batch");
  check(prepared.device() == Device::CPU, op, "runs on the CPU; move the prepared model there first");
  const auto layers = qat_layers(prepared);
  check(!layers.empty(), op, "the model has no quantized Conv2d/Linear layer");
  std::set<const FakeQuantize*> unused_weight_quantizers;  // non-linear weights use a codebook instead
  for (const NamedQatLayer& l : layers)
    if (l.layer->weight_method() != WeightMethod::Linear) unused_weight_quantizers.insert(&l.layer->weight_fake_quant());
  for (const auto& [name, m] : prepared.named_modules())
    if (const auto* fq = dynamic_cast<const FakeQuantize*>(m.get())) {
      check(fq->has_qparams() || unused_weight_quantizers.count(fq), op, "FakeQuantize '", name,
            "' has observed nothing: calibrate the prepared model first");
      check(!fq->observing() && fq->fake_quantizing(), op, "FakeQuantize '", name,
            "' must be frozen with fake quantization on (set_observe(model, false); set_fake_quant(model, "
            "true)) before the repair, so the ranges it was calibrated with stay as they are");
    }
}

}  // namespace qgrad::quant
