// QParams from a range: the asymmetric and symmetric formulas on hand-computed cases, zero
// exactly representable for random ranges, degenerate ranges, and misuse.
#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>

#include "qgrad.h"
#include "quant/quant.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

TEST_CASE("asymmetric QParams follow the widened-range formula", "[quant]") {
  // [-1, 3], 8 bits: scale = 4/255, zero_point = round(1 / (4/255)) = round(63.75) = 64.
  QParams qp = qparams_from_range(-1.f, 3.f, {.bits = 8});
  CHECK(qp.scale[0] == Approx(4.0 / 255).epsilon(1e-6));
  CHECK(qp.zero_point[0] == 64);
  CHECK_FALSE(qp.is_signed);
  CHECK_FALSE(qp.per_channel());
  CHECK(qp.qmin() == 0);
  CHECK(qp.qmax() == 255);
  CHECK(qp.dtype() == DType::UInt8);

  // A range above zero is widened down to 0, one below zero up to 0.
  QParams above = qparams_from_range(2.f, 5.f, {.bits = 4});
  CHECK(above.scale[0] == Approx(5.0 / 15).epsilon(1e-6));
  CHECK(above.zero_point[0] == 0);
  QParams below = qparams_from_range(-4.f, -1.f, {.bits = 4});
  CHECK(below.scale[0] == Approx(4.0 / 15).epsilon(1e-6));
  CHECK(below.zero_point[0] == 15);
}

TEST_CASE("symmetric QParams use the restricted signed range", "[quant]") {
  QParams qp = qparams_from_range(-0.5f, 2.f, {.bits = 8, .symmetric = true});
  CHECK(qp.scale[0] == Approx(2.0 / 127).epsilon(1e-6));
  CHECK(qp.zero_point[0] == 0);
  CHECK(qp.is_signed);
  CHECK(qp.qmin() == -127);  // -128 unused
  CHECK(qp.qmax() == 127);
  CHECK(qp.dtype() == DType::Int8);
  QParams q4 = qparams_from_range(-3.f, 1.f, {.bits = 4, .symmetric = true});
  CHECK(q4.qmin() == -7);
  CHECK(q4.qmax() == 7);
  CHECK(q4.scale[0] == Approx(3.0 / 7).epsilon(1e-6));
}

TEST_CASE("per-channel QParams hold one pair per channel", "[quant]") {
  QParams qp = qparams_from_range({-1.f, 0.f, -2.f}, {3.f, 4.f, 0.5f}, {.bits = 8, .axis = 0});
  REQUIRE(qp.channels() == 3);
  CHECK(qp.per_channel());
  CHECK(*qp.axis == 0);
  CHECK(qp.scale[0] == Approx(4.0 / 255).epsilon(1e-6));
  CHECK(qp.scale[1] == Approx(4.0 / 255).epsilon(1e-6));
  CHECK(qp.scale[2] == Approx(2.5 / 255).epsilon(1e-6));
  CHECK(qp.zero_point[0] == 64);
  CHECK(qp.zero_point[1] == 0);
  CHECK(qp.zero_point[2] == 204);
}

TEST_CASE("zero is exactly representable for random ranges", "[quant]") {
  Generator gen(7);
  Tensor zero = zeros({1});
  for (int trial = 0; trial < 2000; ++trial) {
    float a = (gen.uniform() - 0.7f) * std::pow(10.f, gen.uniform() * 6 - 3);
    float b = a + gen.uniform() * std::pow(10.f, gen.uniform() * 6 - 3);
    const int bits = 2 + static_cast<int>(gen.below(7));
    const bool sym = gen.below(2) == 1;
    QParams qp = qparams_from_range(a, b, {.bits = bits, .symmetric = sym});
    INFO("range [" << a << ", " << b << "], " << bits << " bits, symmetric " << sym);
    Tensor q = quantize(zero, qp);
    const int32_t q0 = sym ? int32_t{q.data<int8_t>()[0]} : int32_t{q.data<uint8_t>()[0]};
    REQUIRE(q0 == qp.zero_point[0]);
    REQUIRE(dequantize(q, qp).item() == 0.0f);
    REQUIRE(fake_quantize(zero, qp).item() == 0.0f);
  }
}

TEST_CASE("degenerate ranges give a valid scale", "[quant]") {
  for (bool sym : {false, true}) {
    QParams z = qparams_from_range(0.f, 0.f, {.bits = 8, .symmetric = sym});
    CHECK(z.scale[0] == 1.f);
    CHECK(z.zero_point[0] == 0);
    Tensor all_zero = zeros({4});
    CHECK(dequantize(quantize(all_zero, z), z).to_vector() == std::vector<float>(4, 0.f));

    // min == max away from zero: the widened range [0, 3] is an ordinary range.
    QParams c = qparams_from_range(3.f, 3.f, {.bits = 8, .symmetric = sym});
    CHECK(c.scale[0] == Approx(3.0 / (sym ? 127 : 255)).epsilon(1e-6));
    CHECK(fake_quantize(full({2}, 3.f), c).to_vector() == std::vector<float>{3.f, 3.f});

    // A subnormal-sized range is floored at the smallest normal float: finite 1/scale.
    QParams tiny = qparams_from_range(-1e-42f, 1e-42f, {.bits = 8, .symmetric = sym});
    CHECK(tiny.scale[0] == FLT_MIN);
    CHECK(std::isfinite(1.f / tiny.scale[0]));
    std::vector<float> v = fake_quantize(from_vector({1e-42f, 5.f, -5.f}, {3}), tiny).to_vector();
    for (float x : v) CHECK(std::isfinite(x));
  }
}

TEST_CASE("QParams misuse is reported", "[quant]") {
  CHECK_THROWS_WITH(qparams_from_range(0.f, 1.f, {.bits = 9}), Contains("bits must be in 2..8, got 9"));
  CHECK_THROWS_WITH(qparams_from_range(0.f, 1.f, {.bits = 1}), Contains("bits must be in 2..8, got 1"));
  CHECK_THROWS_WITH(qparams_from_range(2.f, 1.f, {}), Contains("range minimum 2 is above its maximum 1"));
  CHECK_THROWS_WITH(qparams_from_range(NAN, 1.f, {}), Contains("is not finite"));
  CHECK_THROWS_WITH(qparams_from_range(0.f, INFINITY, {}), Contains("is not finite"));
  CHECK_THROWS_WITH(qparams_from_range(0.f, 1.f, {.axis = 0}), Contains("one range given for a per-channel scheme"));
  CHECK_THROWS_WITH(qparams_from_range({0.f, 0.f}, {1.f, 1.f}, {}),
                    Contains("a per-tensor scheme takes one range, got 2"));
  CHECK_THROWS_WITH(qparams_from_range({0.f, 0.f}, {1.f}, {.axis = 0}), Contains("got 2 minimums but 1 maximums"));

  QParams bad;
  bad.scale = {0.1f};
  bad.zero_point = {0};
  bad.bits = 12;
  CHECK_THROWS_WITH(bad.validate("quantize"), Contains("quantize: bits must be in 2..8, got 12"));
  bad.bits = 4;
  bad.zero_point = {16};
  CHECK_THROWS_WITH(bad.validate("quantize"), Contains("zero_point[0] = 16 lies outside [0, 15]"));
  bad.zero_point = {0};
  bad.scale = {-0.1f};
  CHECK_THROWS_WITH(bad.validate("quantize"), Contains("scale[0] = -0.1 is not a positive finite number"));
  bad.scale = {0.1f, 0.2f};
  CHECK_THROWS_WITH(bad.validate("quantize"), Contains("has 2 scales but 1 zero points"));
  bad.zero_point = {0, 0};
  CHECK_THROWS_WITH(bad.validate("quantize"), Contains("per-tensor QParams must have one scale, got 2"));
  bad.axis = 1;
  CHECK_THROWS_WITH(bad.validate_for({2, 3}, "quantize"),
                    Contains("per-channel QParams have 2 channels but axis 1 of shape [2, 3] has 3"));
  bad.axis = 2;
  CHECK_THROWS_WITH(bad.validate_for({2, 3}, "quantize"), Contains("axis 2 is out of range"));
  bad.axis = -2;
  CHECK(bad.validate_for({2, 3}, "quantize") == 0);
}
