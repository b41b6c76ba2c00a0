// The host-side pieces the CUDA kernels share with the CPU ones (quant/kernels/cuda/qgemm_cuda.h
// validates through them and compiles requantize() for the device), tested on the CPU:
//   requantize() against the definition written with long double, on random values over every
//   shift (the GPU epilogue is this function: its only specification besides the CPU kernels);
//   check_qgemm_args / check_im2col_shape / check_max_pool_shape: each invalid field is named.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "quant/kernels/im2col_u8.h"
#include "quant/kernels/max_pool2d_u8.h"
#include "quant/kernels/qgemm.h"
#include "quant/kernels/requantize.h"

using namespace qgrad::quant;
using Catch::Contains;

TEST_CASE("requantize equals round-half-up of v * M0 / 2^(31 + shift) on random inputs and every shift", "[kernel]") {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int32_t> any_v(INT32_MIN, INT32_MAX), any_m(0, INT32_MAX), zp(0, 255);
  int64_t checked = 0, clamped = 0;
  for (int shift = kMinRequantShift; shift <= kMaxRequantShift; ++shift)
    for (int i = 0; i < 2000; ++i) {
      // values of every magnitude: a random int32 shifted right by 0..31 bits
      const int32_t v = any_v(rng) >> (i % 32), m0 = any_m(rng), out_zp = zp(rng);
      const int32_t qmin = i % 3 == 0 ? out_zp : 0, qmax = 255;
      const long double x = std::ldexp(static_cast<long double>(v) * m0, -(31 + shift));
      long double y = out_zp + std::floor(x + 0.5L);
      clamped += y < qmin || y > qmax;
      y = std::fmin(std::fmax(y, static_cast<long double>(qmin)), static_cast<long double>(qmax));
      REQUIRE(requantize(v, m0, shift, out_zp, qmin, qmax) == static_cast<uint8_t>(y));
      ++checked;
    }
  CHECK(checked == 62 * 2000);
  CHECK(clamped > 0);
  CHECK(clamped < checked);  // the unclamped range was exercised too
}

TEST_CASE("check_qgemm_args names the invalid argument for a B of k x n", "[kernel]") {
  uint8_t a[8] = {}, c8[8] = {};
  int32_t c32[8] = {};
  const int32_t mult = 1 << 30, shift = 0, bad_shift = 32;
  const Requantization rq{&mult, &shift, false, 0, 0, 255};
  QGemmArgs ok{.m = 2, .a = a, .lda = 3, .c_s32 = c32, .ldc = 4};
  CHECK_NOTHROW(check_qgemm_args(ok, 3, 4));
  QGemmArgs bad = ok;
  bad.lda = 2;
  CHECK_THROWS_WITH(check_qgemm_args(bad, 3, 4), Contains("lda = 2 is smaller than k = 3"));
  bad = ok;
  bad.ldc = 3;
  CHECK_THROWS_WITH(check_qgemm_args(bad, 3, 4), Contains("ldc = 3 is smaller than n = 4"));
  bad = ok;
  bad.m = -1;
  CHECK_THROWS_WITH(check_qgemm_args(bad, 3, 4), Contains("m = -1"));
  bad = ok;
  bad.a_zero_point = 256;
  CHECK_THROWS_WITH(check_qgemm_args(bad, 3, 4), Contains("zero point 256"));
  bad = ok;
  bad.c_u8 = c8;
  CHECK_THROWS_WITH(check_qgemm_args(bad, 3, 4), Contains("exactly one"));
  bad = ok;
  bad.c_s32 = nullptr;
  bad.c_u8 = c8;
  CHECK_THROWS_WITH(check_qgemm_args(bad, 3, 4), Contains("needs requant"));
  bad.requant = &rq;
  CHECK_NOTHROW(check_qgemm_args(bad, 3, 4));
  const Requantization rq_bad{&mult, &bad_shift, false, 0, 0, 255};
  bad.requant = &rq_bad;
  CHECK_THROWS_WITH(check_qgemm_args(bad, 3, 4), Contains("shift[0] = 32"));
}

TEST_CASE("check_im2col_shape and check_max_pool_shape name the invalid field", "[kernel]") {
  CHECK_NOTHROW(check_im2col_shape(Im2colShape{3, 8, 8, 3, 3, 1, 1, 1, 1}));
  CHECK_THROWS_WITH(check_im2col_shape(Im2colShape{3, 8, 8, 3, 3, 0, 1, 1, 1}), Contains("stride 0x1"));
  CHECK_THROWS_WITH(check_im2col_shape(Im2colShape{3, 2, 2, 5, 5, 1, 1, 0, 0}), Contains("larger than the padded image"));
  MaxPoolShape s;
  s.height = s.width = 4;
  s.options.kernel = 2;
  CHECK_NOTHROW(check_max_pool_shape(s));
  s.options.padding = 2;
  CHECK_THROWS_WITH(check_max_pool_shape(s), Contains("padding must be below the kernel"));
  s.options.padding = 0;
  s.options.kernel = 5;
  CHECK_THROWS_WITH(check_max_pool_shape(s), Contains("does not fit input 4x4"));
}
