// quantize / dequantize / fake_quantize: hand-computed values, the article's formula, the
// round-trip bound, per-channel scales, the straight-through gradient and misuse.
#include <catch2/catch.hpp>

#include <cmath>

#include "quant/quant.h"
#include "support/grad_check.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;
using testing::full_jacobian_check;
using testing::grad_check;
using In = std::vector<Tensor>;

namespace {

std::vector<int32_t> ints(const Tensor& q) {
  std::vector<int32_t> out;
  if (q.dtype() == DType::Int8) {
    for (int8_t v : q.to_vector<int8_t>()) out.push_back(v);
  } else {
    for (uint8_t v : q.to_vector<uint8_t>()) out.push_back(v);
  }
  return out;
}

// Channel of row-major element i for a channel axis (written independently of channel_runs).
int64_t channel_of(const Shape& shape, int64_t axis, int64_t i) {
  int64_t inner = 1;
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  return (i / inner) % shape[axis];
}

QParams manual(float scale, int32_t zero_point, int bits, bool is_signed) {
  QParams qp;
  qp.scale = {scale};
  qp.zero_point = {zero_point};
  qp.bits = bits;
  qp.is_signed = is_signed;
  return qp;
}

}  // namespace

TEST_CASE("quantize and dequantize hand-computed values", "[quant]") {
  // [-1, 3], 8 bits: scale = 4/255, zero_point 64; x / scale = 63.75 x.
  QParams qp = qparams_from_range(-1.f, 3.f, {.bits = 8});
  Tensor x = from_vector({-1.f, 0.f, 1.f, 3.f, 5.f, -2.f}, {6});
  Tensor q = quantize(x, qp);
  REQUIRE(q.dtype() == DType::UInt8);
  CHECK(ints(q) == std::vector<int32_t>{0, 64, 128, 255, 255, 0});
  std::vector<float> back = dequantize(q, qp).to_vector();
  const float s = qp.scale[0];
  CHECK(back == std::vector<float>{-64 * s, 0.f, 64 * s, 191 * s, 191 * s, -64 * s});
}

TEST_CASE("quantize rounds half away from zero", "[quant]") {
  QParams sym = manual(1.f, 0, 8, true);
  Tensor q = quantize(from_vector({0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 2.49f}, {6}), sym);
  REQUIRE(q.dtype() == DType::Int8);
  CHECK(ints(q) == std::vector<int32_t>{1, 2, 3, -1, -3, 2});
  // Saturation at the restricted range: -128 is never produced.
  CHECK(ints(quantize(from_vector({-1000.f, 1000.f}, {2}), sym)) == std::vector<int32_t>{-127, 127});
}

TEST_CASE("quantize equals round-then-clamp of the scalar helpers on ties, huge values and infinities",
          "[quant]") {
  // quantize's loop rounds without std::round (quantize.cpp); the scalar helpers are the definition.
  std::vector<float> v;
  Generator gen(9);
  for (float t = -300.f; t <= 300.f; t += 0.25f) v.push_back(t);  // every k/2 is a tie
  for (float t : {0.49999997f, -0.49999997f, 0.50000006f, -0.50000006f, 0.f, -0.f, 1e30f, -1e30f, INFINITY, -INFINITY,
                  8388607.5f, -8388607.5f, 16777216.f, 3e9f, -3e9f})
    v.push_back(t);
  for (float t : randn({1001}, gen).to_vector()) v.push_back(200 * t);
  const Tensor x = from_vector(v, {static_cast<int64_t>(v.size())});
  for (const QParams& qp : {manual(1.f, 0, 8, true), manual(1.f, 0, 8, false), manual(1.f, 137, 8, false),
                            manual(0.5f, 255, 8, false), manual(0.75f, 3, 4, false), manual(2.f, 0, 4, true)}) {
    std::vector<int32_t> want;
    for (float t : v)
      want.push_back(static_cast<int32_t>(clamp_q(quantize_unclamped(t, qp.scale[0], qp.zero_point[0]), qp.qmin(), qp.qmax())));
    CHECK(ints(quantize(x, qp)) == want);
  }
}

TEST_CASE("the article's linear formula gives our q", "[quant]") {
  // q = round((x - min) / (max - min) * (2^n - 1)), taken literally. For min = -0.5, max = 2 the
  // zero point is -min / scale = 51 exactly, so the article and the widened formula coincide;
  // on any other range they coincide on the nudged range [-zp * scale, (qmax - zp) * scale].
  Generator gen(11);
  int compared = 0, skipped = 0;
  auto compare = [&](float mn, float mx, int bits, bool nudge) {
    QParams qp = qparams_from_range(mn, mx, {.bits = bits});
    const double levels = std::pow(2.0, bits) - 1;
    const double lo = nudge ? -qp.zero_point[0] * double(qp.scale[0]) : mn;
    const double hi = nudge ? (levels - qp.zero_point[0]) * double(qp.scale[0]) : mx;
    std::vector<float> xs(500);
    for (float& v : xs) v = mn + (mx - mn) * gen.uniform();
    std::vector<int32_t> ours = ints(quantize(from_vector(xs, {500}), qp));
    for (size_t i = 0; i < xs.size(); ++i) {
      const double arg = (xs[i] - lo) / (hi - lo) * levels;
      // Float and double round differently within a hair of a .5 tie; leave those out.
      if (std::abs(arg - std::floor(arg) - 0.5) < 1e-3) {
        ++skipped;
        continue;
      }
      ++compared;
      INFO("x = " << xs[i] << " in [" << mn << ", " << mx << "], " << bits << " bits");
      CHECK(ours[i] == static_cast<int32_t>(std::round(arg)) + qp.qmin());
    }
  };
  compare(-0.5f, 2.f, 8, false);
  for (int trial = 0; trial < 20; ++trial) {
    const float mn = -gen.uniform() * 3 - 0.01f, mx = gen.uniform() * 3 + 0.01f;
    compare(mn, mx, 2 + trial % 7, true);
  }
  CHECK(compared > 10000);
  CHECK(skipped < compared / 100);
}

TEST_CASE("round-trip error is at most scale/2 inside the range", "[quant]") {
  Generator gen(3);
  for (int bits = 2; bits <= 8; ++bits) {
    for (bool sym : {false, true}) {
      for (bool per_channel : {false, true}) {
        const Shape shape{3, 4, 5};
        const int64_t axis = 1;
        std::vector<float> lo(4), hi(4);
        for (int c = 0; c < 4; ++c) {
          lo[c] = -gen.uniform() * std::pow(10.f, float(c) - 1);
          hi[c] = gen.uniform() * std::pow(10.f, float(c) - 1) + 0.001f;
        }
        if (!per_channel) {
          lo.assign(1, lo[0]);
          hi.assign(1, hi[0]);
        }
        QScheme scheme{.bits = bits, .symmetric = sym};
        if (per_channel) scheme.axis = axis;
        QParams qp = per_channel ? qparams_from_range(lo, hi, scheme) : qparams_from_range(lo[0], hi[0], scheme);
        std::vector<float> xs(numel(shape));
        for (int64_t i = 0; i < numel(shape); ++i) {
          const int64_t c = per_channel ? channel_of(shape, axis, i) : 0;
          xs[i] = lo[c] + (hi[c] - lo[c]) * gen.uniform();
        }
        Tensor x = from_vector(xs, shape);
        std::vector<float> back = dequantize(quantize(x, qp), qp).to_vector();
        for (int64_t i = 0; i < numel(shape); ++i) {
          const int64_t c = per_channel ? channel_of(shape, axis, i) : 0;
          const double s = qp.scale[c];
          INFO(bits << " bits, symmetric " << sym << ", per-channel " << per_channel << ", x = " << xs[i]);
          CHECK(std::abs(double(back[i]) - xs[i]) <= s / 2 * (1 + 1e-5) + 1e-6 * std::abs(xs[i]));
        }
      }
    }
  }
}

TEST_CASE("fake_quantize equals dequantize(quantize(x)) exactly", "[quant]") {
  Generator gen(5);
  Tensor x = mul(randn({6, 4}, gen), 2.f);  // reaches past the ranges below: clipping included
  std::vector<QParams> qps = {
      qparams_from_range(-1.f, 2.5f, {.bits = 8}),
      qparams_from_range(-1.f, 1.f, {.bits = 3, .symmetric = true}),
      qparams_from_range({-1.f, -0.5f, -3.f, 0.f}, {1.f, 2.f, 0.25f, 4.f}, {.bits = 5, .axis = 1}),
      qparams_from_range({-1.f, -0.5f, -3.f, 0.f, 1.f, -2.f}, {1.f, 2.f, 0.25f, 4.f, 1.f, 2.f},
                         {.bits = 8, .symmetric = true, .axis = 0}),
  };
  for (const QParams& qp : qps) {
    CHECK(fake_quantize(x, qp).to_vector() == dequantize(quantize(x, qp), qp).to_vector());
  }
  // A transposed (non-contiguous) input: per-channel along axis 0 of the [4, 6] view.
  Tensor xt = x.t();
  QParams qp = qparams_from_range({-1.f, -0.5f, -3.f, 0.f}, {1.f, 2.f, 0.25f, 4.f}, {.bits = 6, .axis = 0});
  CHECK(fake_quantize(xt, qp).to_vector() == dequantize(quantize(xt, qp), qp).to_vector());
  CHECK(fake_quantize(xt, qp).to_vector() == fake_quantize(xt.contiguous(), qp).to_vector());
}

TEST_CASE("per-channel quantization uses each channel's own scale", "[quant]") {
  // A conv weight [O, C, kH, kW] = [3, 2, 2, 2] quantized per output channel (axis 0), and the
  // same data per input channel (axis 1) and along the last axis (-1).
  Generator gen(9);
  const Shape shape{3, 2, 2, 2};
  Tensor w = randn(shape, gen);
  std::vector<float> wv = w.to_vector();
  for (int64_t axis : {0, 1, -1}) {
    const int64_t ax = axis < 0 ? axis + 4 : axis;
    const int64_t channels = shape[ax];
    std::vector<float> lo(channels), hi(channels);
    for (int64_t c = 0; c < channels; ++c) {
      lo[c] = -0.5f * float(c + 1);
      hi[c] = 0.7f * float(c + 1);
    }
    QParams qp = qparams_from_range(lo, hi, {.bits = 8, .symmetric = true, .axis = axis});
    for (int64_t c = 0; c < channels; ++c) CHECK(qp.scale[c] == Approx(0.7 * double(c + 1) / 127).epsilon(1e-6));
    std::vector<int32_t> q = ints(quantize(w, qp));
    for (int64_t i = 0; i < w.numel(); ++i) {
      const int64_t c = channel_of(shape, ax, i);
      const float expect = std::clamp(std::round(wv[i] / qp.scale[c]), -127.f, 127.f);
      INFO("axis " << axis << ", element " << i << ", channel " << c);
      CHECK(q[i] == static_cast<int32_t>(expect));
    }
  }
}

TEST_CASE("the STE mask is exact at the clip boundaries", "[quant][grad]") {
  // scale 0.5, zero_point 2, 3 bits unsigned: q in [0, 7] covers [-1, 2.5]. A value passes the
  // gradient when round(x / 0.5) + 2 lies in [0, 7]: x in (-1.25, 2.75), and exactly -1.25 and
  // 2.75 round away from zero to q = -1 and 8, outside.
  QParams qp = manual(0.5f, 2, 3, false);
  Tensor x = from_vector({-1.25f, -1.2499f, -1.f, 0.f, 1.3f, 2.5f, 2.7499f, 2.75f, 4.f, -3.f}, {10}).requires_grad_();
  Tensor y = fake_quantize(x, qp);
  CHECK(y.to_vector() == std::vector<float>{-1.f, -1.f, -1.f, 0.f, 1.5f, 2.5f, 2.5f, 2.5f, 2.5f, -1.f});
  Tensor v = from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, 9.f, 10.f}, {10});
  y.backward(v);
  CHECK(x.grad().to_vector() == std::vector<float>{0.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 0.f, 0.f, 0.f});
  CHECK(clipped_fraction(x, qp) == Approx(0.4));

  // Symmetric 8-bit, scale 1: the edges are +-127; +-127.5 rounds to +-128, outside.
  QParams sym = manual(1.f, 0, 8, true);
  Tensor xs = from_vector({-127.5f, -127.f, 127.f, 127.4f, 127.5f}, {5}).requires_grad_();
  fake_quantize(xs, sym).backward(ones({5}));
  CHECK(xs.grad().to_vector() == std::vector<float>{0.f, 1.f, 1.f, 1.f, 0.f});
}

TEST_CASE("fake_quantize gradient is the identity inside the range, zero outside", "[quant][grad]") {
  // With scale much smaller than the finite-difference step, central differences see the
  // quantizer's staircase as a slope-1 line inside the range (error <= scale / (2h) = 1%) and
  // as flat outside; values stay more than h away from the clip edges (+-0.127).
  QParams qp = qparams_from_range(-0.127f, 0.127f, {.bits = 8, .symmetric = true});
  testing::GradCheckOptions o{.eps = 0.05};
  Tensor x = from_vector({-0.07f, -0.031f, 0.f, 0.012f, 0.066f, 0.3f, -0.45f, 0.9f}, {2, 4}).requires_grad_();
  grad_check([&](const In& in) { return fake_quantize(in[0], qp); }, {x}, o);
  // Non-contiguous input, per-channel along axis 1 of the transposed [4, 2] view.
  QParams pc = qparams_from_range({-0.127f, -0.2f}, {0.127f, 0.2f}, {.bits = 8, .symmetric = true, .axis = 1});
  full_jacobian_check([&](const In& in) { return fake_quantize(in[0].t(), pc); }, {x}, o);
  // Inside a composite: d/dw sum(fake_quantize(w) * a) = a where w is inside the range.
  Tensor a = from_vector({1.f, -2.f, 3.f, 0.5f, 1.f, 1.f, 1.f, 1.f}, {2, 4});
  x.zero_grad();
  sum(mul(fake_quantize(x, qp), a)).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{1.f, -2.f, 3.f, 0.5f, 1.f, 0.f, 0.f, 0.f});
}

TEST_CASE("fake_quantize records nothing without grad", "[quant]") {
  Tensor x = from_vector({0.1f, 0.2f}, {2}).requires_grad_();
  QParams qp = qparams_from_range(-1.f, 1.f, {});
  CHECK(fake_quantize(x, qp).grad_fn() != nullptr);
  NoGradGuard no_grad;
  CHECK(fake_quantize(x, qp).grad_fn() == nullptr);
}

TEST_CASE("quantize misuse is reported", "[quant]") {
  QParams u8 = qparams_from_range(-1.f, 1.f, {.bits = 8});
  QParams s8 = qparams_from_range(-1.f, 1.f, {.bits = 8, .symmetric = true});
  CHECK_THROWS_WITH(quantize(ones({3}, DType::Int8), u8), Contains("quantize: expects float32 tensors, got int8"));
  CHECK_THROWS_WITH(fake_quantize(ones({3}, DType::Int32), u8),
                    Contains("fake_quantize: expects float32 tensors, got int32"));
  CHECK_THROWS_WITH(dequantize(quantize(ones({3}), u8), s8),
                    Contains("dequantize: QParams describe int8 data (signed), got a uint8 tensor of shape [3]"));
  CHECK_THROWS_WITH(dequantize(ones({3}), u8), Contains("got a float32 tensor"));
  CHECK_THROWS_WITH(quantize(from_vector({1.f, NAN}, {2}), u8), Contains("quantize: input of shape [2] contains NaN"));
  CHECK(std::isnan(fake_quantize(from_vector({NAN}, {1}), u8).item()));

  QParams pc = qparams_from_range({-1.f, -1.f, -1.f}, {1.f, 1.f, 1.f}, {.bits = 8, .axis = 0});
  CHECK_THROWS_WITH(quantize(ones({4, 2}), pc),
                    Contains("quantize: per-channel QParams have 3 channels but axis 0 of shape [4, 2] has 4"));
  pc.axis = 3;
  CHECK_THROWS_WITH(fake_quantize(ones({3, 2}), pc), Contains("fake_quantize: axis 3 is out of range"));
  QParams bits = u8;
  bits.bits = 10;
  CHECK_THROWS_WITH(quantize(ones({2}), bits), Contains("quantize: bits must be in 2..8, got 10"));
  CHECK_THROWS_WITH(quantize(Tensor(), u8), Contains("quantize: got an undefined tensor"));
}
