// AVX2 multiply-add throughput (compiled with -mavx2): the multiplies are independent of each
// other and only the cheap vpaddd carries a dependency.
//   int8 peak:  vpmaddubsw + vpmaddwd + vpaddd = 32 u8 x s8 products, two multiply uops, one add
//   int16 peak: vpmaddwd + vpaddd              = 16 s16 x s16 products, one multiply uop, one add
// Both spend one multiply uop per 16 products, but the int16 form spends twice the adds per
// product; on Zen 3 it measured ~85% of the int8 peak, which is the ceiling of the int16 avx2
// kernel. Printed next to each other so that ceiling is measured, not assumed.
#include <immintrin.h>

#include "bench/peak/peak.h"
#include "bench/peak/peak_timer.h"
#include "quant/kernels/cpu_features.h"

namespace qgrad::bench {

namespace {

constexpr long kIters = 200'000;
constexpr int kMacsPerIter = 8;

// One multiply-add of the int8 form into accumulator ymm<acc> through temporary ymm<tmp>.
// AT&T order: vpmaddubsw b, a, t is t = pairs of u8(a) * s8(b) summed to int16.
#define QGRAD_PEAK_INT8(acc, tmp)                              \
  "vpmaddubsw %[b], %[a], %%ymm" tmp "\n\t"                    \
  "vpmaddwd %[ones], %%ymm" tmp ", %%ymm" tmp "\n\t"           \
  "vpaddd %%ymm" tmp ", %%ymm" acc ", %%ymm" acc "\n\t"
#define QGRAD_PEAK_INT16(acc, tmp)                             \
  "vpmaddwd %[b], %[a], %%ymm" tmp "\n\t"                      \
  "vpaddd %%ymm" tmp ", %%ymm" acc ", %%ymm" acc "\n\t"
// The loop is inline assembly: written with intrinsics, GCC 12 added register copies and stack
// stores of the accumulators to it, which take vector ports too. Four accumulators (only the
// 1-cycle vpaddd chains through them) and four temporaries; the multiplies are independent.
#define QGRAD_PEAK_LOOP(MAC)                                                                     \
  __asm__ volatile("1:\n\t" MAC("0", "4") MAC("1", "5") MAC("2", "6") MAC("3", "7")           \
                   MAC("0", "4") MAC("1", "5") MAC("2", "6") MAC("3", "7")                     \
                   "dec %[n]\n\t"                                                              \
                   "jnz 1b\n\t"                                                                \
                   : [n] "+r"(n)                                                               \
                   : [a] "x"(a), [b] "x"(b), [ones] "x"(ones)                                  \
                   : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "cc")

// GOP/s when each loop iteration does kMacsPerIter multiply-adds of `products` products each.
template <class Loop>
double peak_of(int threads, int products, Loop loop) {
  if (!quant::detail::cpu_has_avx2()) return 0;
  const double t = time_parallel(threads, loop);
  return 2.0 * products * kMacsPerIter * kIters * threads / t * 1e-9;
}

}  // namespace

double peak_gops_avx2(int threads) {
  return peak_of(threads, 32, [] {
    const __m256i a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    long n = kIters;
    QGRAD_PEAK_LOOP(QGRAD_PEAK_INT8);
  });
}

double peak_gops_avx2_int16(int threads) {
  return peak_of(threads, 16, [] {
    const __m256i a = _mm256_set1_epi16(1), b = _mm256_set1_epi16(3), ones = _mm256_set1_epi16(1);
    long n = kIters;
    QGRAD_PEAK_LOOP(QGRAD_PEAK_INT16);
  });
}

#undef QGRAD_PEAK_LOOP
#undef QGRAD_PEAK_INT16
#undef QGRAD_PEAK_INT8

}  // namespace qgrad::bench
