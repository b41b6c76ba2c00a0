// Observers: watch the tensors that flow through a point of the network during calibration
// (or QAT) and choose the QParams for it (quant/math/qparams.h) from what they saw.
//
//   obs.observe(x);  obs.observe(x2);  ...;  QParams qp = obs.qparams();
//
// Each takes a QScheme: bits, symmetric or asymmetric, per-tensor or per-channel (axis).
// They differ in the range [min, max] they hand to qparams_from_range:
//
//   MinMaxObserver               the smallest and largest value ever seen (per channel or not).
//                                Exact, but one outlier stretches the range for everything.
//   MovingAverageMinMaxObserver  min_t = (1 - c) * min_(t-1) + c * batch_min_t (likewise max);
//                                the first batch initializes. Follows drifting activations during
//                                QAT and damps single unusual batches. c = averaging constant.
//   PercentileObserver           clips the tails: asymmetric [P_(100-p)(x), P_p(x)], symmetric
//                                +-P_p(|x|), with p = 99.99 by default (percentiles interpolate
//                                linearly between order statistics, NumPy's default rule).
//   MseObserver                  tries `steps` candidate ranges shrunk from the observed one,
//                                [min * i/steps, max * i/steps] for i = steps..1 (symmetric:
//                                +-max|x| * i/steps), and keeps the one whose quantize-dequantize
//                                MSE on the observed values is lowest (the trade-off between
//                                clipping error and rounding error; ties keep the wider range).
//
// Percentile and MSE observers are per-tensor only and keep every observed value (exact, at
// 4 bytes per observed element): calibrate them on a sample of batches, not a whole dataset.
// All observers reject an empty tensor, non-finite values, and qparams() before observe().
// The range observers also take CUDA tensors: the batch's range is computed on the GPU
// (quant/kernels/cuda/fake_quant_cuda.h), the running range stays on the host.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "quant/math/qparams.h"

namespace qgrad::quant {

class Observer {
 public:
  explicit Observer(QScheme scheme, std::string name);
  virtual ~Observer() = default;

  virtual void observe(const Tensor& x) = 0;
  // Fails when nothing has been observed yet.
  virtual QParams qparams() const = 0;

  bool has_observed() const { return observations_ > 0; }
  int64_t observations() const { return observations_; }
  const QScheme& scheme() const { return scheme_; }
  const std::string& name() const { return name_; }

 protected:
  void require_observed() const;

  QScheme scheme_;
  std::string name_;
  int64_t observations_ = 0;
};

// Observers that track a [min, max] per channel (one channel when per-tensor). observe() checks
// x, reduces it to this batch's per-channel min and max, and takes them as the range on the first
// batch; afterwards each subclass's update() folds them into the running range.
class RangeObserver : public Observer {
 public:
  using Observer::Observer;
  void observe(const Tensor& x) final;
  QParams qparams() const final;
  const std::vector<float>& min() const { return min_; }
  const std::vector<float>& max() const { return max_; }

 protected:
  // The running bound given the previous one and this batch's (lower: a min, else a max).
  virtual float update(float running, float batch, bool lower) const = 0;

 private:
  // Takes this batch's per-channel range as the first, or folds it in with update().
  void fold_range(std::vector<float>& lo, std::vector<float>& hi);
  std::vector<float> min_, max_;
};

class MinMaxObserver final : public RangeObserver {
 public:
  explicit MinMaxObserver(QScheme scheme = {});

 private:
  float update(float running, float batch, bool lower) const override;
};

class MovingAverageMinMaxObserver final : public RangeObserver {
 public:
  // averaging_constant c in (0, 1].
  explicit MovingAverageMinMaxObserver(QScheme scheme = {}, float averaging_constant = 0.01f);

 private:
  float update(float running, float batch, bool lower) const override;
  float c_;
};

// Observers that keep the observed values (per-tensor only).
class SampleObserver : public Observer {
 public:
  SampleObserver(QScheme scheme, std::string name);
  void observe(const Tensor& x) override;
  const std::vector<float>& values() const { return values_; }

 protected:
  std::vector<float> values_;
};

class PercentileObserver final : public SampleObserver {
 public:
  // percentile in (50, 100].
  explicit PercentileObserver(QScheme scheme = {}, double percentile = 99.99);
  QParams qparams() const override;

 private:
  double percentile_;
};

class MseObserver final : public SampleObserver {
 public:
  explicit MseObserver(QScheme scheme = {}, int steps = 100);
  QParams qparams() const override;

 private:
  int steps_;
};

// The p-th percentile (p in [0, 100]) of values, interpolating linearly between order
// statistics: position p/100 * (N - 1) in the sorted values. Fails on an empty list.
float percentile(std::vector<float> values, double p);

}  // namespace qgrad::quant
