// Quantization error metrics on hand-computed examples, the 6 dB-per-bit rule, and misuse.
#include <catch2/catch.hpp>

#include <cmath>

#include "qgrad.h"
#include "quant/quant.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

TEST_CASE("mse and sqnr on hand-computed examples", "[quant]") {
  Tensor x = from_vector({1.f, 2.f, 3.f}, {3});
  Tensor y = from_vector({1.f, 2.f, 4.f}, {3});
  CHECK(mse(x, y) == Approx(1.0 / 3));
  // signal 1 + 4 + 9 = 14, noise 1: 10 log10 14.
  CHECK(sqnr_db(x, y) == Approx(10 * std::log10(14.0)));
  CHECK(mse(x, x) == 0.0);
  CHECK(std::isinf(sqnr_db(x, x)));
  // Any strides: the transposed pair compares element by element.
  Tensor a = from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2});
  Tensor b = from_vector({1.f, 3.f, 2.f, 2.f}, {2, 2});
  CHECK(mse(a.t(), b.t()) == Approx(0.25 * (0 + 1 + 1 + 4)));
}

TEST_CASE("clipped_fraction counts values outside the integer range", "[quant]") {
  // scale 0.5, zero_point 2, 3 bits unsigned: round(x / 0.5) + 2 must lie in [0, 7].
  QParams qp;
  qp.scale = {0.5f};
  qp.zero_point = {2};
  qp.bits = 3;
  Tensor x = from_vector({-1.25f, -1.f, 0.f, 2.5f, 2.75f, 10.f}, {6});
  CHECK(clipped_fraction(x, qp) == Approx(0.5));
  QParams pc = qparams_from_range({-1.f, -10.f}, {1.f, 10.f}, {.bits = 8, .axis = 1});
  CHECK(clipped_fraction(from_vector({5.f, 5.f, -0.5f, -11.f}, {2, 2}), pc) == Approx(0.5));
}

TEST_CASE("each extra bit adds about 6 dB of SQNR", "[quant]") {
  Generator gen(13);
  Tensor x = add(mul(rand({20000}, gen), 2.f), -1.f);  // U[-1, 1)
  double previous = 0;
  // From 5 bits on, the half-width cells at the range edges shift the model by < 0.15 dB, and
  // the restricted range's level count 2^(n-1) - 1 doubles to within 0.3 dB from 6 bits on.
  for (int bits = 5; bits <= 8; ++bits) {
    QParams qp = qparams_from_range(-1.f, 1.f, {.bits = bits, .symmetric = true});
    const double s = sqnr_db(x, fake_quantize(x, qp));
    // Uniform signal, uniform rounding noise: signal power 1/3, noise scale^2 / 12.
    const double scale = 1.0 / ((1 << (bits - 1)) - 1);
    INFO(bits << " bits: " << s << " dB");
    CHECK(s == Approx(10 * std::log10((1.0 / 3) / (scale * scale / 12))).margin(0.3));
    if (bits >= 6) CHECK(s - previous == Approx(6.02).margin(0.5));
    previous = s;
  }
}

TEST_CASE("metric misuse is reported", "[quant]") {
  CHECK_THROWS_WITH(mse(ones({3}), ones({4})), Contains("mse: shapes [3] and [4] differ"));
  CHECK_THROWS_WITH(sqnr_db(ones({2}, DType::Int8), ones({2})), Contains("sqnr_db: expects float32 tensors, got int8"));
  CHECK_THROWS_WITH(sqnr_db(zeros({2}), ones({2})), Contains("sqnr_db: the signal of shape [2] is all zero"));
  CHECK_THROWS_WITH(mse(empty({0}), empty({0})), Contains("mse: got empty tensors of shape [0]"));
  QParams qp = qparams_from_range(-1.f, 1.f, {});
  CHECK_THROWS_WITH(clipped_fraction(ones({2}, DType::Int32), qp), Contains("clipped_fraction: expects float32"));
}
