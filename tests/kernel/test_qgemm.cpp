// The integer GEMM kernels: every kernel this CPU supports equals the scalar ref bit for bit on
// the shared sweep (kernel/qgemm_sweep.h), ref equals a naive int64 computation, the fixed-point
// multiplier and its rounding, dispatch, every error path, and im2col_u8 against a naive version.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "kernel/qgemm_sweep.h"
#include "quant/kernels/im2col_u8.h"
#include "quant/kernels/qgemm.h"
#include "quant/kernels/requantize.h"

using namespace qgrad;
using namespace qgrad::quant;

TEST_CASE("qgemm ref equals a naive int64 computation", "[kernel]") {
  const testing::SweepResult r = testing::sweep_kernel(find_kernel("ref"), 1);
  INFO(r.first_failure);
  CHECK(r.failed == 0);
  CHECK(r.passed == 2 * static_cast<int>(testing::sweep_cases().size()));
}

TEST_CASE("qgemm every supported kernel equals ref exactly", "[kernel]") {
  int tested = 0;
  for (const QGemmKernel* kernel : all_kernels()) {
    if (!kernel->supported()) {
      WARN("skipping qgemm kernel '" << kernel->name << "': this CPU does not support it");
      continue;
    }
    const testing::SweepResult r = testing::sweep_kernel(*kernel, 7);
    INFO("kernel " << kernel->name << ": " << r.first_failure);
    CHECK(r.failed == 0);
    CHECK(r.passed == 2 * static_cast<int>(testing::sweep_cases().size()));
    ++tested;
  }
  CHECK(tested >= 1);
}

#if defined(__x86_64__)
namespace qgrad::quant {
extern const QGemmKernel kQGemmAvx512VnniEmulated;  // tests/kernel/vnni_emulated_kernel.cpp
}

TEST_CASE("qgemm avx512vnni with plain C++ micro-kernels (emulated) equals ref exactly", "[kernel]") {
  const testing::SweepResult r = testing::sweep_kernel(kQGemmAvx512VnniEmulated, 11);
  INFO(r.first_failure);
  CHECK(r.failed == 0);
  CHECK(r.passed == 2 * static_cast<int>(testing::sweep_cases().size()));
}
#endif

TEST_CASE("qgemm dispatch picks a supported kernel and honours a forced name", "[kernel]") {
  CHECK(qgemm_kernel().supported());
  CHECK(std::string(select_kernel("ref").name) == "ref");
  const QGemmKernel& best = select_kernel("");
  CHECK(best.supported());
  const QGemmKernel* last_supported = nullptr;
  for (const QGemmKernel* k : all_kernels())
    if (k->supported()) last_supported = k;
  CHECK(&best == last_supported);
  CHECK_THROWS_WITH(select_kernel("sse9"), Catch::Contains("unknown qgemm kernel 'sse9'") &&
                                               Catch::Contains("ref"));
  for (const QGemmKernel* k : all_kernels())
    if (!k->supported())
      CHECK_THROWS_WITH(select_kernel(k->name), Catch::Contains("QGRAD_KERNEL=") &&
                                                    Catch::Contains("does not support"));
}

TEST_CASE("quantize_multiplier round trips within 1e-9 relative", "[kernel]") {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> expo(-31.5, 29.9);
  for (int t = 0; t < 10000; ++t) {
    const double real = std::exp2(expo(rng));
    int32_t m0 = 0;
    int shift = 0;
    quantize_multiplier(real, &m0, &shift);
    INFO("real " << real << " m0 " << m0 << " shift " << shift);
    REQUIRE(m0 >= (1 << 30));
    REQUIRE(shift >= kMinRequantShift);
    REQUIRE(shift <= kMaxRequantShift);
    CHECK(std::fabs(std::ldexp(static_cast<double>(m0), -(31 + shift)) - real) <= 1e-9 * real);
  }
  int32_t m0 = -1;
  int shift = -1;
  quantize_multiplier(0.0, &m0, &shift);
  CHECK((m0 == 0 && shift == 0));
  quantize_multiplier(std::ldexp(1.0, -40), &m0, &shift);  // too small to change any result
  CHECK((m0 == 0 && shift == 0));
  quantize_multiplier(0.5, &m0, &shift);
  CHECK((m0 == (1 << 30) && shift == 0));
  CHECK_THROWS_WITH(quantize_multiplier(-0.1, &m0, &shift), Catch::Contains("quantize_multiplier") &&
                                                              Catch::Contains("finite and >= 0"));
  CHECK_THROWS_WITH(quantize_multiplier(std::nan(""), &m0, &shift), Catch::Contains("finite and >= 0"));
  CHECK_THROWS_WITH(quantize_multiplier(std::ldexp(1.0, 30), &m0, &shift), Catch::Contains(">= 2^30"));
}

TEST_CASE("rounding_mul rounds to nearest with ties toward +infinity", "[kernel]") {
  const int32_t half = 1 << 30;  // m0 = 2^30, shift 0: v * 2^30 / 2^31 = v / 2
  CHECK(rounding_mul(1, half, 0) == 1);     //  0.5  -> 1
  CHECK(rounding_mul(-1, half, 0) == 0);    // -0.5  -> 0
  CHECK(rounding_mul(3, half, 0) == 2);     //  1.5  -> 2
  CHECK(rounding_mul(-3, half, 0) == -1);   // -1.5  -> -1
  CHECK(rounding_mul(6, half, 1) == 2);     //  1.5  -> 2   (v / 4)
  CHECK(rounding_mul(-6, half, 1) == -1);   // -1.5  -> -1
  CHECK(rounding_mul(-7, half, 1) == -2);   // -1.75 -> -2
  CHECK(rounding_mul(5, half, 1) == 1);     //  1.25 -> 1
  CHECK(rounding_mul(4, half, -1) == 4);    // left shift by 1: v * 2^30 / 2^30
  // extremes: the 64-bit product never overflows
  const int32_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  CHECK(rounding_mul(lo, hi, -30) == int64_t{lo} / 2 * hi);
  CHECK(rounding_mul(hi, hi, 31) == 1);         // (2^31 - 1)^2 / 2^62 = 1 - 2^-30 (about)
  CHECK(rounding_mul(hi, 1 << 30, 31) == 0);    // (2^31 - 1) / 2^32 just below 1/2
  // clamp and fused ReLU
  CHECK(requantize(1000, half, 0, 10, 0, 255) == 255);
  CHECK(requantize(-1000, half, 0, 10, 0, 255) == 0);
  CHECK(requantize(-100, half, 0, 10, 10, 255) == 10);
  CHECK(requantize(-3, half, 0, 10, 0, 255) == 9);  // 10 + round(-1.5) = 10 - 1
}

namespace {

struct Fixture {
  std::vector<int8_t> b = std::vector<int8_t>(12, 3);  // [3, 4]
  std::vector<uint8_t> a = std::vector<uint8_t>(6, 7);  // [2, 3]
  std::vector<int32_t> c32 = std::vector<int32_t>(8);
  std::vector<uint8_t> c8 = std::vector<uint8_t>(8);
};

}  // namespace

TEST_CASE("qgemm rejects invalid arguments with a message", "[kernel]") {
  Fixture f;
  const QGemmKernel& ref = find_kernel("ref");
  CHECK_THROWS_WITH(pack_b(ref, f.b.data(), 0, 4, 4), Catch::Contains("pack_b") && Catch::Contains("[0, 4]"));
  CHECK_THROWS_WITH(pack_b(ref, f.b.data(), 3, 4, 2), Catch::Contains("ldb = 2"));
  CHECK_THROWS_WITH(pack_b(ref, nullptr, 3, 4, 4), Catch::Contains("B is null"));
  CHECK_THROWS_WITH(pack_b(ref, f.b.data(), kMaxQGemmDepth + 1, 4, 4), Catch::Contains("overflow"));
  for (const QGemmKernel* k : all_kernels())
    if (!k->supported())
      CHECK_THROWS_WITH(pack_b(*k, f.b.data(), 3, 4, 4), Catch::Contains("not supported by this CPU"));

  const PackedB packed = pack_b(ref, f.b.data(), 3, 4, 4);
  const QGemmArgs ok{.m = 2, .a = f.a.data(), .lda = 3, .a_zero_point = 1, .b = &packed,
                     .c_s32 = f.c32.data(), .ldc = 4};
  qgemm(ok);
  CHECK(f.c32[0] == 3 * (7 - 1) * 3);

  QGemmArgs bad = ok;
  bad.lda = 2;
  CHECK_THROWS_WITH(qgemm(bad), Catch::Contains("lda = 2") && Catch::Contains("k = 3"));
  bad = ok;
  bad.ldc = 3;
  CHECK_THROWS_WITH(qgemm(bad), Catch::Contains("ldc = 3"));
  bad = ok;
  bad.a_zero_point = 256;
  CHECK_THROWS_WITH(qgemm(bad), Catch::Contains("zero point 256"));
  bad = ok;
  bad.c_u8 = f.c8.data();
  CHECK_THROWS_WITH(qgemm(bad), Catch::Contains("exactly one of c_s32"));
  bad = ok;
  bad.c_s32 = nullptr;
  bad.c_u8 = f.c8.data();
  CHECK_THROWS_WITH(qgemm(bad), Catch::Contains("needs requant"));
  const int32_t m0 = 1 << 30, bad_shift = 40;
  Requantization rq{.multiplier = &m0, .shift = &bad_shift};
  bad.requant = &rq;
  CHECK_THROWS_WITH(qgemm(bad), Catch::Contains("shift[0] = 40"));
  const int32_t shift = 0;
  rq.shift = &shift;
  rq.qmin = 200;
  rq.qmax = 100;
  CHECK_THROWS_WITH(qgemm(bad), Catch::Contains("clamp range [200, 100]"));
  PackedB unpacked;
  bad = ok;
  bad.b = &unpacked;
  CHECK_THROWS_WITH(qgemm(bad), Catch::Contains("not packed"));

  const QGemmKernel* other = nullptr;
  for (const QGemmKernel* k : all_kernels())
    if (k != &ref && k->supported()) other = k;
  if (!other) {
    WARN("no second supported kernel: the packed-for-another-kernel check is not exercised");
  } else {
    CHECK_THROWS_WITH(qgemm(*other, ok), Catch::Contains("packed for kernel 'ref'") &&
                                             Catch::Contains(std::string("used with kernel '") + other->name));
  }
}

TEST_CASE("im2col_u8 (channels last) matches a naive unrolling and pads with the zero point", "[kernel]") {
  std::mt19937 rng(5);
  for (const Im2colShape& s : {Im2colShape{.channels = 2, .height = 5, .width = 6, .kernel_h = 3, .kernel_w = 2,
                                          .stride_h = 2, .stride_w = 1, .pad_h = 1, .pad_w = 2},
                              Im2colShape{.channels = 1, .height = 28, .width = 28, .kernel_h = 5,
                                          .kernel_w = 5, .pad_h = 2, .pad_w = 2},
                              Im2colShape{.channels = 3, .height = 4, .width = 4, .kernel_h = 1, .kernel_w = 1},
                              Im2colShape{.channels = 40, .height = 7, .width = 5, .kernel_h = 3, .kernel_w = 3,
                                          .stride_h = 1, .stride_w = 2, .pad_h = 1, .pad_w = 1},
                              // kernel rows of 30 and 9 bytes (the 16..31 and 8..15 copy paths)
                              Im2colShape{.channels = 6, .height = 9, .width = 8, .kernel_h = 5, .kernel_w = 5,
                                          .pad_h = 2, .pad_w = 2},
                              Im2colShape{.channels = 3, .height = 6, .width = 6, .kernel_h = 3, .kernel_w = 3,
                                          .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1}}) {
    std::vector<uint8_t> img(static_cast<size_t>(s.channels * s.height * s.width));
    for (auto& v : img) v = static_cast<uint8_t>(rng() % 256);
    const uint8_t zp = 77;
    std::vector<uint8_t> got(static_cast<size_t>(s.rows() * s.cols()));
    im2col_u8(img.data(), s, zp, got.data());
    const int64_t ho = (s.height + 2 * s.pad_h - s.kernel_h) / s.stride_h + 1;
    const int64_t wo = (s.width + 2 * s.pad_w - s.kernel_w) / s.stride_w + 1;
    REQUIRE(s.rows() == ho * wo);
    int mismatches = 0, padded = 0;
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox)
        for (int64_t c = 0; c < s.channels; ++c)
          for (int64_t ky = 0; ky < s.kernel_h; ++ky)
            for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
              const int64_t y = oy * s.stride_h + ky - s.pad_h, x = ox * s.stride_w + kx - s.pad_w;
              const bool inside = y >= 0 && y < s.height && x >= 0 && x < s.width;
              padded += !inside;
              const uint8_t want = inside ? img[static_cast<size_t>((y * s.width + x) * s.channels + c)] : zp;
              const int64_t col = (ky * s.kernel_w + kx) * s.channels + c;
              mismatches += got[static_cast<size_t>((oy * wo + ox) * s.cols() + col)] != want;
            }
    CHECK(mismatches == 0);
    CHECK((padded > 0) == (s.pad_h > 0 || s.pad_w > 0));
  }
  std::vector<uint8_t> img(4), out(64);
  CHECK_THROWS_WITH(im2col_u8(img.data(), {.height = 2, .width = 2, .kernel_h = 3, .kernel_w = 3}, 0, out.data()),
                    Catch::Contains("im2col_u8") && Catch::Contains("larger than the padded image"));
  CHECK_THROWS_WITH(im2col_u8(img.data(), {.height = 2, .width = 2, .stride_h = 0}, 0, out.data()),
                    Catch::Contains("invalid shape"));
}
