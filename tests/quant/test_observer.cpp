// Observers: exact ranges on known data, the moving average step by step, percentile and MSE
// clipping of outliers, per-channel ranges, and misuse.
#include <catch2/catch.hpp>

#include <cmath>

#include "qgrad.h"
#include "quant/quant.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

// Gaussian data with a few planted outliers.
Tensor with_outliers(int64_t n, uint64_t seed, std::vector<float> outliers) {
  Generator gen(seed);
  std::vector<float> v = randn({n}, gen).to_vector();
  for (size_t i = 0; i < outliers.size(); ++i) v[i * 97] = outliers[i];
  return from_vector(v, {n});
}

double fq_mse(const Tensor& x, const QParams& qp) { return mse(x, fake_quantize(x, qp)); }

}  // namespace

TEST_CASE("MinMaxObserver finds the exact range over calls", "[quant]") {
  MinMaxObserver obs({.bits = 8});
  CHECK_FALSE(obs.has_observed());
  obs.observe(from_vector({-1.f, 2.f, 0.5f}, {3}));
  obs.observe(from_vector({3.f, -0.25f}, {2, 1}));
  CHECK(obs.observations() == 2);
  CHECK(obs.min() == std::vector<float>{-1.f});
  CHECK(obs.max() == std::vector<float>{3.f});
  QParams qp = obs.qparams();
  QParams expect = qparams_from_range(-1.f, 3.f, {.bits = 8});
  CHECK(qp.scale == expect.scale);
  CHECK(qp.zero_point == expect.zero_point);
}

TEST_CASE("MinMaxObserver per channel", "[quant]") {
  MinMaxObserver obs({.bits = 8, .symmetric = true, .axis = 1});
  obs.observe(from_vector({1.f, -2.f, 3.f, -4.f, 5.f, 0.5f}, {2, 3}));
  obs.observe(from_vector({0.f, 7.f, -9.f, 1.f, 1.f, 1.f}, {2, 3}).t().contiguous().t());
  CHECK(obs.min() == std::vector<float>{-4.f, -2.f, -9.f});
  CHECK(obs.max() == std::vector<float>{1.f, 7.f, 3.f});
  QParams qp = obs.qparams();
  REQUIRE(qp.channels() == 3);
  CHECK(qp.scale[0] == Approx(4.0 / 127).epsilon(1e-6));
  CHECK(qp.scale[1] == Approx(7.0 / 127).epsilon(1e-6));
  CHECK(qp.scale[2] == Approx(9.0 / 127).epsilon(1e-6));
}

TEST_CASE("per-channel observer gives each channel its own scale", "[quant]") {
  // Row c of the weight is scaled by 10^c: per-channel, every row uses the full int8 range.
  Generator gen(4);
  std::vector<float> v = randn({3, 16}, gen).to_vector();
  for (int c = 0; c < 3; ++c)
    for (int j = 0; j < 16; ++j) v[c * 16 + j] *= std::pow(10.f, float(c));
  Tensor w = from_vector(v, {3, 16});
  MinMaxObserver obs({.bits = 8, .symmetric = true, .axis = 0});
  obs.observe(w);
  QParams qp = obs.qparams();
  CHECK(qp.scale[1] / qp.scale[0] > 2.f);
  CHECK(qp.scale[2] / qp.scale[1] > 2.f);
  std::vector<int8_t> q = quantize(w, qp).to_vector<int8_t>();
  for (int c = 0; c < 3; ++c) {
    int peak = 0;
    for (int j = 0; j < 16; ++j) peak = std::max(peak, std::abs(int(q[c * 16 + j])));
    CHECK(peak == 127);
  }
  // Per-tensor, the small row collapses onto a few levels and its error grows.
  MinMaxObserver whole({.bits = 8, .symmetric = true});
  whole.observe(w);
  Tensor row0 = w.slice(0, 0, 1);
  QParams pc0 = qparams_from_range(obs.min()[0], obs.max()[0], {.bits = 8, .symmetric = true});
  CHECK(fq_mse(row0, pc0) < fq_mse(row0, whole.qparams()) / 10);
}

TEST_CASE("MovingAverageMinMaxObserver follows its formula step by step", "[quant]") {
  const float c = 0.1f;
  MovingAverageMinMaxObserver obs({.bits = 8}, c);
  const std::vector<std::pair<float, float>> batches = {{-1.f, 2.f}, {-3.f, 1.f}, {0.5f, 6.f}, {-2.f, 2.f}};
  double mn = 0, mx = 0;
  for (size_t t = 0; t < batches.size(); ++t) {
    auto [lo, hi] = batches[t];
    obs.observe(from_vector({hi, lo, (lo + hi) / 2}, {3}));
    if (t == 0) {
      mn = lo;
      mx = hi;
    } else {
      mn = (1 - c) * mn + c * lo;
      mx = (1 - c) * mx + c * hi;
    }
    INFO("step " << t);
    CHECK(obs.min()[0] == Approx(mn).epsilon(1e-6));
    CHECK(obs.max()[0] == Approx(mx).epsilon(1e-6));
  }
  // After step 1: min = 0.9 * -1 + 0.1 * -3 = -1.2.
  MovingAverageMinMaxObserver two({.bits = 8}, c);
  two.observe(from_vector({-1.f, 2.f}, {2}));
  two.observe(from_vector({-3.f, 1.f}, {2}));
  CHECK(two.min()[0] == Approx(-1.2).epsilon(1e-6));
  CHECK(two.max()[0] == Approx(1.9).epsilon(1e-6));

  MovingAverageMinMaxObserver pc({.bits = 8, .axis = 0}, 0.5f);
  pc.observe(from_vector({-1.f, 1.f, -4.f, 4.f}, {2, 2}));
  pc.observe(from_vector({-3.f, 3.f, 0.f, 2.f}, {2, 2}));
  CHECK(pc.min() == std::vector<float>{-2.f, -2.f});
  CHECK(pc.max() == std::vector<float>{2.f, 3.f});
  CHECK(pc.qparams().channels() == 2);
}

TEST_CASE("percentile interpolates between order statistics", "[quant]") {
  CHECK(percentile({4.f, 1.f, 3.f, 2.f}, 50) == 2.5f);
  CHECK(percentile({4.f, 1.f, 3.f, 2.f}, 25) == 1.75f);
  CHECK(percentile({4.f, 1.f, 3.f, 2.f}, 100) == 4.f);
  CHECK(percentile({4.f, 1.f, 3.f, 2.f}, 0) == 1.f);
  CHECK(percentile({5.f}, 99) == 5.f);
  CHECK_THROWS_WITH(percentile({}, 50), Contains("percentile: of an empty list"));
  CHECK_THROWS_WITH(percentile({1.f}, 101), Contains("p must be in [0, 100], got 101"));
}

TEST_CASE("PercentileObserver clips a planted outlier", "[quant]") {
  Tensor x = with_outliers(20000, 21, {1000.f});
  MinMaxObserver mm({.bits = 8});
  mm.observe(x);
  CHECK(mm.max()[0] == 1000.f);
  for (bool sym : {false, true}) {
    PercentileObserver obs({.bits = 8, .symmetric = sym}, 99.9);
    obs.observe(x.slice(0, 0, 10000));
    obs.observe(x.slice(0, 10000, 20000));
    QParams qp = obs.qparams();
    const double top = dequantize_value(float(qp.qmax()), qp.scale[0], qp.zero_point[0]);
    INFO("symmetric " << sym << ": range top " << top);
    CHECK(top > 2.5);  // a Gaussian's 99.9th percentile is about 3.1
    CHECK(top < 5.0);
    CHECK(fq_mse(x.slice(0, 1, 20000), qp) < fq_mse(x.slice(0, 1, 20000), mm.qparams()));
  }
}

TEST_CASE("MseObserver beats MinMax on data with outliers", "[quant]") {
  Tensor x = with_outliers(10000, 23, {12.f, -10.f, 15.f});
  for (bool sym : {false, true}) {
    MinMaxObserver mm({.bits = 4, .symmetric = sym});
    MseObserver ms({.bits = 4, .symmetric = sym});
    mm.observe(x);
    ms.observe(x);
    const double e_mm = fq_mse(x, mm.qparams()), e_ms = fq_mse(x, ms.qparams());
    INFO("symmetric " << sym << ": MSE min-max " << e_mm << ", MSE-optimal " << e_ms);
    CHECK(e_ms < e_mm / 2);
    CHECK(ms.qparams().scale[0] < mm.qparams().scale[0]);
  }
  // Never worse than min-max: the full range is one of the candidates.
  Generator gen(2);
  Tensor u = rand({500}, gen);
  MinMaxObserver mm({.bits = 6});
  MseObserver ms({.bits = 6});
  mm.observe(u);
  ms.observe(u);
  CHECK(fq_mse(u, ms.qparams()) <= fq_mse(u, mm.qparams()));
}

TEST_CASE("observer misuse is reported", "[quant]") {
  MinMaxObserver mm;
  CHECK_THROWS_WITH(mm.qparams(), Contains("MinMaxObserver: qparams() called before any observe()"));
  CHECK_THROWS_WITH(MovingAverageMinMaxObserver().qparams(),
                    Contains("MovingAverageMinMaxObserver: qparams() called before any observe()"));
  CHECK_THROWS_WITH(PercentileObserver().qparams(), Contains("PercentileObserver: qparams() called before"));
  CHECK_THROWS_WITH(MseObserver().qparams(), Contains("MseObserver: qparams() called before"));
  CHECK_THROWS_WITH(MinMaxObserver({.bits = 9}), Contains("MinMaxObserver: bits must be in 2..8, got 9"));
  CHECK_THROWS_WITH(mm.observe(empty({0, 3})), Contains("observed an empty tensor of shape [0, 3]"));
  CHECK_THROWS_WITH(mm.observe(ones({2}, DType::UInt8)), Contains("MinMaxObserver: expects float32 tensors, got uint8"));
  CHECK_THROWS_WITH(mm.observe(from_vector({1.f, INFINITY}, {2})), Contains("observed a non-finite value (inf)"));
  CHECK_THROWS_WITH(MseObserver().observe(from_vector({NAN}, {1})), Contains("MseObserver: observed a non-finite value"));
  CHECK_FALSE(mm.has_observed());

  MinMaxObserver pc({.axis = 2});
  CHECK_THROWS_WITH(pc.observe(ones({2, 2})), Contains("MinMaxObserver: axis 2 is out of range"));
  MinMaxObserver pc0({.axis = 0});
  pc0.observe(ones({2, 2}));
  CHECK_THROWS_WITH(pc0.observe(ones({3, 2})), Contains("axis 0 of shape [3, 2] has 3 channels, but earlier tensors had 2"));

  CHECK_THROWS_WITH(PercentileObserver({.axis = 0}), Contains("PercentileObserver: is per-tensor only"));
  CHECK_THROWS_WITH(MseObserver({.axis = 1}), Contains("MseObserver: is per-tensor only"));
  CHECK_THROWS_WITH(PercentileObserver({}, 40), Contains("percentile must be in (50, 100], got 40"));
  CHECK_THROWS_WITH(MseObserver({}, 0), Contains("steps must be at least 1, got 0"));
  CHECK_THROWS_WITH(MovingAverageMinMaxObserver({}, 0.f), Contains("averaging constant must be in (0, 1], got 0"));
}
