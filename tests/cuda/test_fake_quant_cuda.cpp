// The QAT kernels (quant/kernels/cuda/fake_quant_cuda.h) against the CPU paths, exactly:
//   fake_quantize forward values (bit for bit, NaN stays NaN) and the STE mask (the gradient the
//   CPU fake_quantize's backward gives for an upstream gradient of ones), per tensor and per
//   channel along the first, a middle and the last axis, with values on exact rounding ties,
//   outside the clip range and at both ends;
//   the batch range a range observer takes (per-channel first-occurring min / max, -0.0 vs 0.0
//   kept apart as the CPU loop keeps them); the running range is folded on the host by the same
//   code for either device.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/autograd.h"
#include "quant/kernels/cuda/fake_quant_cuda.h"
#include "quant/kernels/cuda/qgemm_cuda.h"
#include "quant/math/observer.h"
#include "quant/math/qparams.h"
#include "quant/math/quantize.h"

using namespace qgrad;
using namespace qgrad::quant;

namespace {

cuda::ChannelLayout layout_of(const Shape& shape, std::optional<int64_t> axis) {
  cuda::ChannelLayout l;
  l.inner = numel(shape);
  if (axis) {
    l.channels = shape[static_cast<size_t>(*axis)];
    l.inner = 1;
    for (int64_t i = 0; i < *axis; ++i) l.outer *= shape[static_cast<size_t>(i)];
    for (size_t i = static_cast<size_t>(*axis) + 1; i < shape.size(); ++i) l.inner *= shape[i];
  }
  return l;
}

// Values of every kind around qp's grid: random, exact ties (k + 1/2) scale, far outside.
std::vector<float> values(size_t n, const QParams& qp, std::mt19937& rng) {
  std::vector<float> v(n);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  const float s = qp.scale[0];
  for (size_t i = 0; i < n; ++i) {
    switch (i % 5) {
      case 0: v[i] = u(rng) * 300 * s; break;
      case 1: v[i] = (std::floor(u(rng) * 200) + 0.5f) * s; break;
      case 2: v[i] = u(rng) > 0 ? 1e6f : -1e6f; break;
      case 3: v[i] = static_cast<float>(qp.qmax() - (qp.is_signed ? 0 : qp.zero_point[0])) * s; break;
      default: v[i] = u(rng) * 3 * s; break;
    }
  }
  return v;
}

}  // namespace

TEST_CASE("CUDA fake_quantize equals the CPU forward bit for bit and its STE mask exactly", "[cuda][quant]") {
  std::mt19937 rng(4);
  const Shape shape{3, 5, 4, 7};
  struct Case {
    std::optional<int64_t> axis;
    bool is_signed;
    int bits;
  };
  for (const Case& cs : {Case{std::nullopt, false, 8}, Case{std::nullopt, true, 8}, Case{0, true, 8},
                         Case{1, false, 4}, Case{3, true, 6}}) {
    QParams qp;
    qp.bits = cs.bits;
    qp.is_signed = cs.is_signed;
    qp.axis = cs.axis;
    const int64_t channels = cs.axis ? shape[static_cast<size_t>(*cs.axis)] : 1;
    for (int64_t c = 0; c < channels; ++c) {
      qp.scale.push_back(0.01f * static_cast<float>(1 + c));
      qp.zero_point.push_back(cs.is_signed ? 0 : static_cast<int32_t>(rng() % static_cast<unsigned>(qp.qmax() + 1)));
    }
    std::vector<float> x = values(static_cast<size_t>(numel(shape)), qp, rng);
    x[7] = std::nanf("");

    // CPU: forward, and the gradient for an upstream gradient of ones = the mask
    Tensor leaf = from_vector(x, shape).requires_grad_();
    const Tensor y = fake_quantize(leaf, qp);
    y.backward(ones(shape));
    const std::vector<float> want = y.detach().to_vector(), want_mask = leaf.grad().to_vector();

    const cuda::ChannelLayout l = layout_of(shape, cs.axis);
    cuda::DeviceBuffer dx = cuda::to_device(x), dout(x.size() * sizeof(float)), dmask(x.size() * sizeof(float));
    cuda::fake_quantize_cuda(dx.as<float>(), dout.as<float>(), dmask.as<float>(), l, qp.scale.data(),
                             qp.zero_point.data(), qp.qmin(), qp.qmax());
    std::vector<float> got(x.size()), got_mask(x.size());
    dout.download(got.data(), got.size() * sizeof(float));
    dmask.download(got_mask.data(), got_mask.size() * sizeof(float));
    INFO("axis " << (cs.axis ? *cs.axis : -1) << ", signed " << cs.is_signed << ", bits " << cs.bits);
    CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
    CHECK(got_mask == want_mask);
    CHECK(std::count(want_mask.begin(), want_mask.end(), 0.f) > 0);  // the clip range was left
    CHECK(std::count(want_mask.begin(), want_mask.end(), 1.f) > 0);
  }
}

TEST_CASE("CUDA batch range equals the CPU observer's, per tensor and per channel", "[cuda][quant]") {
  std::mt19937 rng(6);
  std::normal_distribution<float> nd(0.f, 2.f);
  for (std::optional<int64_t> axis : {std::optional<int64_t>{}, std::optional<int64_t>{1}, std::optional<int64_t>{0}}) {
    // large enough for several blocks per channel (4096 elements each)
    const Shape shape = axis && *axis == 0 ? Shape{3, 20000} : Shape{4, 6, 3000};
    QScheme scheme;
    scheme.axis = axis;
    for (int batch = 0; batch < 3; ++batch) {
      std::vector<float> x(static_cast<size_t>(numel(shape)));
      for (auto& v : x) v = nd(rng) * static_cast<float>(batch + 1);
      if (batch == 2) {  // all zeros of random sign: the first one's sign must come out
        for (auto& v : x) v = rng() % 2 ? 0.f : -0.f;
      }
      const Tensor xt = from_vector(x, shape);
      const cuda::ChannelLayout l = layout_of(shape, axis);
      cuda::DeviceBuffer dx = cuda::to_device(x);
      std::vector<float> lo(static_cast<size_t>(l.channels)), hi(static_cast<size_t>(l.channels));
      REQUIRE(cuda::channel_min_max_cuda(dx.as<float>(), l, lo.data(), hi.data()));
      // the CPU's batch range: a fresh MinMaxObserver on this batch alone (what RangeObserver
      // folds into its running range with the same host code either way)
      MinMaxObserver one(scheme);
      one.observe(xt);
      INFO("axis " << (axis ? *axis : -1) << ", batch " << batch);
      CHECK(std::memcmp(lo.data(), one.min().data(), lo.size() * sizeof(float)) == 0);
      CHECK(std::memcmp(hi.data(), one.max().data(), hi.size() * sizeof(float)) == 0);
    }
  }
  // non-finite values are reported, not folded in
  std::vector<float> bad(5000, 1.f);
  bad[4321] = INFINITY;
  cuda::DeviceBuffer dbad = cuda::to_device(bad);
  float lo = 0, hi = 0;
  CHECK_FALSE(cuda::channel_min_max_cuda(dbad.as<float>(), cuda::ChannelLayout{1, 1, 5000}, &lo, &hi));
}
