// vpdpbusd (zmm) throughput (compiled with -mavx512f -mavx512bw -mavx512vnni). Sixteen chains
// cover its latency (about 5 cycles) times two issue ports. The loop is inline assembly: written
// with intrinsics, GCC 12 copied every accumulator to another register after each vpdpbusd (the
// instruction overwrites its accumulator), 36 instructions per 12 multiply-adds, and the copies
// took the vector ports: it measured 325 GOP/s on a core where the qgemm kernel reached 528.
#include <immintrin.h>

#include "bench/peak/peak.h"
#include "bench/peak/peak_timer.h"
#include "quant/kernels/cpu_features.h"

namespace qgrad::bench {

double peak_gops_avx512vnni(int threads) {
  if (!quant::detail::cpu_has_avx512vnni()) return 0;
  constexpr long kIters = 200'000;
  constexpr int kChains = 16;
  const double t = time_parallel(threads, [&] {
    const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(3);
    long n = kIters;
#define QGRAD_PEAK_DP(r) "vpdpbusd %[b], %[a], %%zmm" #r "\n\t"
    __asm__ volatile(
        "1:\n\t"
        QGRAD_PEAK_DP(0) QGRAD_PEAK_DP(1) QGRAD_PEAK_DP(2) QGRAD_PEAK_DP(3)
        QGRAD_PEAK_DP(4) QGRAD_PEAK_DP(5) QGRAD_PEAK_DP(6) QGRAD_PEAK_DP(7)
        QGRAD_PEAK_DP(8) QGRAD_PEAK_DP(9) QGRAD_PEAK_DP(10) QGRAD_PEAK_DP(11)
        QGRAD_PEAK_DP(12) QGRAD_PEAK_DP(13) QGRAD_PEAK_DP(14) QGRAD_PEAK_DP(15)
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        : [n] "+r"(n)
        : [a] "v"(a), [b] "v"(b)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "cc");
#undef QGRAD_PEAK_DP
  });
  return 2.0 * 64 * kChains * kIters * threads / t * 1e-9;
}

}  // namespace qgrad::bench
