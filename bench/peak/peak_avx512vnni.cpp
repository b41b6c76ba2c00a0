// vpdpbusd (zmm) throughput (compiled with -mavx512f -mavx512bw -mavx512vnni). Twelve chains
// cover its latency (about 5 cycles) times two issue ports.
#include <immintrin.h>

#include "bench/peak/peak.h"
#include "bench/peak/peak_timer.h"
#include "quant/kernels/cpu_features.h"

namespace qgrad::bench {

double peak_gops_avx512vnni(int threads) {
  if (!quant::detail::cpu_has_avx512vnni()) return 0;
  constexpr long kIters = 500'000;
  constexpr int kChains = 12;
  volatile int sink = 0;
  const double t = time_parallel(threads, [&] {
    __m512i acc[kChains];
    for (auto& v : acc) v = _mm512_setzero_si512();
    const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(3);
    for (long i = 0; i < kIters; ++i)
      for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
    alignas(64) int lanes[kChains][16];
    for (int c = 0; c < kChains; ++c) _mm512_store_si512(lanes[c], acc[c]);
    int s = 0;
    for (int c = 0; c < kChains; ++c) s += lanes[c][0];
    sink = sink + s;
  });
  return 2.0 * 64 * kChains * kIters * threads / t * 1e-9;
}

}  // namespace qgrad::bench
