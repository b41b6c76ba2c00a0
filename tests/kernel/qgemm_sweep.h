// The shape/value sweep every qgemm kernel is checked with, shared by the Catch2 test
// (tests/kernel/test_qgemm.cpp) and the standalone aarch64 program run under qemu
// (tests/kernel/neon_cross_test.cpp), so both run the same cases.
// Each case computes C three ways and demands exact equality:
//   naive  — int64 sum_k (A - za) B + bias, rounding written with long double (independent of
//            requantize.h's integer formula)
//   ref    — the "ref" kernel (the scalar specification)
//   kernel — the kernel under test: a CPU kernel of the registry, or any function that runs the
//            call another way (the CUDA rungs, tests/cuda/test_qgemm_cuda.cpp)
// Cases: m = 1..7 (micro-tiles of 4 and 6 plus a ragged one) and m across the row blocks (72 for
// avx2, 96 for avx512vnni, 128 for the others), n not a multiple of any tile (1, 15, 17, 33, 63,
// 300) and n split across threads, k = 1, below the group size, odd, across avx2's 256 k-block
// (255, 256, 257, 513) and 1000+; narrow n (1..8 and 16 + 1..8, avx2's 12x8 kernel) against k = 1,
// 2, 3, 25, 150, 255, 1001 and m across its 12-row tile; avx512vnni's narrow 16x16 kernel (n =
// 9..16, 41..48) with k across its 512 k-block and m across 96; values uniform random or extreme (A
// all 255 against B of -128/127, the vpmaddubsw saturation case; or A in {0, 255} against B of
// -127/127); random zero points, strided A (lda > k) and C (ldc > n, the gap must stay untouched),
// with and without bias, int32 output and requantized uint8 output with random multipliers/shifts
// (per tensor and per channel; a mix including left shifts, or all right shifts of at least 1, real
// < 1/2, which takes avx2's 32-bit epilogue), random or ReLU clamps.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "quant/kernels/qgemm.h"

namespace qgrad::testing {

struct SweepResult {
  int passed = 0;
  int failed = 0;
  std::string first_failure;
};

struct SweepCase {
  int64_t m, n, k;
  int fill;  // 0 uniform random, 1 A = 255 and B in {-128, 127}, 2 A = 255 and B = -128, 3 A random, B in {-128, 127},
            // 4 A in {0, 255} and B in {-127, 127}
};

inline std::vector<SweepCase> sweep_cases() {
  std::vector<SweepCase> cases;
  int fill = 0;
  for (int64_t m = 1; m <= 7; ++m)
    for (int64_t n : {1, 15, 17, 33, 63})
      for (int64_t k : {1, 2, 3, 5, 7, 31}) cases.push_back({m, n, k, fill++ % 4});
  for (int f = 0; f < 4; ++f) {
    cases.push_back({5, 17, 1000, f});
    cases.push_back({7, 33, 1001, f});
  }
  cases.push_back({4, 63, 2051, 1});
  cases.push_back({131, 300, 77, 0});
  cases.push_back({260, 40, 19, 3});
  // k across avx2's k-block of 256, m across its 72-row block, and shapes big enough that the
  // threaded kernels split both m and n into tasks
  cases.push_back({7, 16, 255, 1});
  cases.push_back({6, 17, 256, 2});
  cases.push_back({73, 47, 257, 1});
  cases.push_back({145, 33, 513, 3});
  cases.push_back({72, 16, 600, 0});
  cases.push_back({80, 200, 600, 0});
  cases.push_back({150, 70, 300, 1});
  // narrow panels (avx2 gives a last panel of real width <= 8 its own 12x8 micro-kernel): every
  // n in 1..8 and 16 + {1..8} against k = 1, 2, 3, 25 (LeNet conv1), 150 (conv2), 255 and an odd
  // k past the k-block, with m below, at and past the 12-row tile and the 72-row block, ragged
  int narrow = 0;
  const int64_t narrow_m[] = {1, 11, 12, 13, 25, 72, 73, 145};
  for (int64_t n : {1, 2, 3, 4, 5, 6, 7, 8, 17, 18, 19, 20, 21, 22, 23, 24})
    for (int64_t k : {1, 2, 3, 25, 150, 255, 1001}) {
      cases.push_back({narrow_m[narrow % 8], n, k, narrow % 5});
      ++narrow;
    }
  cases.push_back({300, 6, 25, 4});
  cases.push_back({299, 6, 25, 0});
  cases.push_back({157, 8, 150, 4});
  cases.push_back({145, 22, 150, 1});
  cases.push_back({77, 40, 25, 4});  // n = 16 * 2 + 8
  // avx512vnni: 32-column panels whose last one has <= 16 real columns take its 16x16 kernel (n =
  // 9..16 and 32 + 9..16), 8- and 16-row tiles, the 96-row block and the 128-group (512) k-block
  const int64_t vnni_m[] = {1, 7, 9, 16, 17, 95, 97, 193};
  int vnni = 0;
  for (int64_t n : {9, 10, 12, 15, 16, 41, 44, 47, 48, 49})
    for (int64_t k : {4, 6, 25, 511, 512, 515, 1025}) {
      cases.push_back({vnni_m[vnni % 8], n, k, vnni % 5});
      ++vnni;
    }
  cases.push_back({193, 96, 1536, 1});
  cases.push_back({97, 64, 2048, 4});
  return cases;
}

// Runs one call of the kernel under test: B [k, n] with row stride ldb, and args complete but
// for args.b (which the function sets to its own packing of B).
using KernelUnderTest =
    std::function<void(const int8_t* b, int64_t k, int64_t n, int64_t ldb, quant::QGemmArgs& args)>;

// A registry kernel as a KernelUnderTest.
inline KernelUnderTest registry_kernel(const quant::QGemmKernel& kernel) {
  return [&kernel](const int8_t* b, int64_t k, int64_t n, int64_t ldb, quant::QGemmArgs& args) {
    const quant::PackedB packed = quant::pack_b(kernel, b, k, n, ldb);
    args.b = &packed;
    quant::qgemm(kernel, args);
  };
}

// One case in one output mode; returns "" when kernel == ref == naive, else a description.
inline std::string run_case(const std::string& name, const KernelUnderTest& kernel, const SweepCase& sc,
                            bool requantized, std::mt19937_64& rng) {
  using namespace qgrad::quant;
  auto uni = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  const int64_t m = sc.m, n = sc.n, k = sc.k;
  const int64_t lda = k + uni(0, 5), ldb = n + uni(0, 3), ldc = n + uni(0, 4);
  const int32_t za = static_cast<int32_t>(uni(0, 255));
  std::vector<uint8_t> a(static_cast<size_t>(m * lda));
  std::vector<int8_t> b(static_cast<size_t>(k * ldb));
  for (auto& v : a) {
    if (sc.fill == 4) v = static_cast<uint8_t>(uni(0, 1) ? 255 : 0);
    else v = static_cast<uint8_t>(sc.fill == 0 || sc.fill == 3 ? uni(0, 255) : 255);
  }
  for (auto& v : b) {
    if (sc.fill == 0) v = static_cast<int8_t>(uni(-128, 127));
    else if (sc.fill == 2) v = -128;
    else if (sc.fill == 4) v = static_cast<int8_t>(uni(0, 1) ? 127 : -127);
    else v = static_cast<int8_t>(uni(0, 1) ? 127 : -128);
  }
  std::vector<int32_t> bias;
  if (uni(0, 2)) {
    bias.resize(static_cast<size_t>(n));
    for (auto& v : bias) v = static_cast<int32_t>(uni(-(1 << 20), 1 << 20));
  }
  const bool per_channel = uni(0, 1);
  const bool small_multipliers = uni(0, 1);
  const size_t nq = per_channel ? static_cast<size_t>(n) : 1;
  std::vector<int32_t> mult(nq), shift(nq);
  for (size_t q = 0; q < nq; ++q) {
    // log-uniform real multiplier in [2^-21, 2^2): mostly right shifts, some left shifts; or in
    // [2^-21, 2^-1): every shift >= 1
    const int top = small_multipliers ? -2 : 1;
    const double real = std::ldexp(1.0 + std::uniform_real_distribution<double>(0, 1)(rng), static_cast<int>(uni(-21, top)));
    int s = 0;
    quantize_multiplier(real, &mult[q], &s);
    shift[q] = s;
  }
  Requantization rq;
  rq.multiplier = mult.data();
  rq.shift = shift.data();
  rq.per_channel = per_channel;
  rq.out_zero_point = static_cast<int32_t>(uni(0, 255));
  if (uni(0, 1)) {  // fused ReLU
    rq.qmin = rq.out_zero_point;
    rq.qmax = 255;
  } else {
    rq.qmin = static_cast<int32_t>(uni(0, 100));
    rq.qmax = static_cast<int32_t>(uni(150, 255));
  }

  // naive: int64 accumulators and long double rounding, written from the definition
  std::vector<int64_t> want(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t s = bias.empty() ? 0 : bias[static_cast<size_t>(j)];
      for (int64_t p = 0; p < k; ++p) s += (int64_t{a[static_cast<size_t>(i * lda + p)]} - za) * b[static_cast<size_t>(p * ldb + j)];
      if (requantized) {
        const size_t q = per_channel ? static_cast<size_t>(j) : 0;
        const long double x = std::ldexp(static_cast<long double>(s) * mult[q], -(31 + shift[q]));
        long double y = rq.out_zero_point + std::floor(x + 0.5L);  // ties toward +infinity
        y = std::fmin(std::fmax(y, static_cast<long double>(rq.qmin)), static_cast<long double>(rq.qmax));
        s = static_cast<int64_t>(y);
      }
      want[static_cast<size_t>(i * n + j)] = s;
    }

  auto run = [&](const KernelUnderTest& kern, std::vector<int32_t>& c32, std::vector<uint8_t>& c8) {
    QGemmArgs args{.m = m, .a = a.data(), .lda = lda, .a_zero_point = za, .b = nullptr,
                   .bias = bias.empty() ? nullptr : bias.data(), .ldc = ldc};
    if (requantized) {
      c8.assign(static_cast<size_t>(m * ldc), 0xAB);
      args.c_u8 = c8.data();
      args.requant = &rq;
    } else {
      c32.assign(static_cast<size_t>(m * ldc), 0x5A5A5A5A);
      args.c_s32 = c32.data();
    }
    kern(b.data(), k, n, ldb, args);
  };
  std::vector<int32_t> ref32, got32;
  std::vector<uint8_t> ref8, got8;
  run(registry_kernel(quant::find_kernel("ref")), ref32, ref8);
  run(kernel, got32, got8);

  std::ostringstream why;
  why << name << " m=" << m << " n=" << n << " k=" << k << " fill=" << sc.fill << " lda=" << lda
      << " ldc=" << ldc << " za=" << za << (requantized ? " uint8" : " int32") << (bias.empty() ? "" : " bias")
      << ": ";
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const size_t at = static_cast<size_t>(i * ldc + j);
      const int64_t r = requantized ? ref8[at] : ref32[at];
      const int64_t g = requantized ? got8[at] : got32[at];
      const int64_t w = j < n ? want[static_cast<size_t>(i * n + j)] : r;
      const int64_t gap = requantized ? 0xAB : 0x5A5A5A5A;
      if (j >= n && (r != gap || g != gap)) {
        why << "wrote the ldc gap at (" << i << ", " << j << ")";
        return why.str();
      }
      if (r != w || g != r) {
        why << "at (" << i << ", " << j << ") naive " << w << ", ref " << r << ", kernel " << g;
        return why.str();
      }
    }
  return "";
}

inline std::string run_case(const quant::QGemmKernel& kernel, const SweepCase& sc, bool requantized,
                            std::mt19937_64& rng) {
  return run_case(kernel.name, registry_kernel(kernel), sc, requantized, rng);
}

// Every case of `cases` in both output modes.
inline SweepResult sweep(const std::string& name, const KernelUnderTest& kernel, const std::vector<SweepCase>& cases,
                         uint64_t seed) {
  SweepResult result;
  std::mt19937_64 rng(seed);
  for (const SweepCase& sc : cases)
    for (bool requantized : {false, true}) {
      const std::string failure = run_case(name, kernel, sc, requantized, rng);
      if (failure.empty()) {
        ++result.passed;
      } else {
        if (result.failed++ == 0) result.first_failure = failure;
      }
    }
  return result;
}

inline SweepResult sweep_kernel(const quant::QGemmKernel& kernel, uint64_t seed) {
  return sweep(kernel.name, registry_kernel(kernel), sweep_cases(), seed);
}

}  // namespace qgrad::testing
