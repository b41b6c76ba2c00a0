// AVX2 multiply-add throughput (compiled with -mavx2). Six chains: the multiplies are independent
// of each other and only the cheap vpaddd carries a dependency. The empty asm makes the inputs
// opaque each iteration so the compiler cannot hoist the loop-invariant multiply.
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

// GOP/s of mac(acc, a, b) -> acc, counted as `products` multiply-adds per call.
template <class Mac>
double mac_peak_gops(int threads, int products, Mac mac) {
  if (!quant::detail::cpu_has_avx2()) return 0;
  constexpr long kIters = 500'000;
  constexpr int kChains = 6;
  volatile int sink = 0;
  const double t = time_parallel(threads, [&] {
    // Named variables, not arrays, and 3 opaque activations x 2 weights for six distinct
    // products: 16 ymm registers must hold everything, else accumulators spill and the loop
    // measures store-to-load forwarding instead of the multipliers.
    __m256i a0 = _mm256_set1_epi8(1), a1 = _mm256_set1_epi8(2), a2 = _mm256_set1_epi8(3);
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    const __m256i b0 = _mm256_set1_epi8(3), b1 = _mm256_set1_epi8(-5);
    for (long i = 0; i < kIters; ++i) {
      __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2));
      c0 = mac(c0, a0, b0);
      c1 = mac(c1, a0, b1);
      c2 = mac(c2, a1, b0);
      c3 = mac(c3, a1, b1);
      c4 = mac(c4, a2, b0);
      c5 = mac(c5, a2, b1);
    }
    const __m256i sum = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
                                         _mm256_add_epi32(c4, c5));
    const int s = _mm256_extract_epi32(sum, 0);
    sink = sink + s;
  });
  return 2.0 * products * kChains * kIters * threads / t * 1e-9;
}

}  // namespace

double peak_gops_avx2(int threads) {
  return mac_peak_gops(threads, 32, [](__m256i acc, __m256i a, __m256i b) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)));
  });
}

double peak_gops_avx2_int16(int threads) {
  return mac_peak_gops(threads, 16, [](__m256i acc, __m256i a, __m256i b) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
  });
}

}  // namespace qgrad::bench
