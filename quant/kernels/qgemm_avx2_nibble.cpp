// qgemm_u8s8s32_avx2_nibble: the first AVX2 rung, vpmaddubsw + vpmaddwd on nibble-split weights
// (compiled with -mavx2). Kept registered as the rung below `avx2` (qgemm_avx2.cpp) so the
// ladder in docs/kernel_ladder.md is measured in one process by bench_kernels; dispatch never
// prefers it (it comes before `avx2` in the registry), QGRAD_KERNEL=avx2_nibble forces it.
// Micro-kernel: 4 rows x 16 columns, 8 ymm int32 accumulators; k advances in pairs.
//
// Why the weights are split into nibbles. vpmaddubsw multiplies unsigned bytes by signed bytes
// and adds adjacent pairs into int16 WITH SATURATION: 255 * (-128) * 2 = -65280 does not fit, so
// the plain instruction silently clips exactly on the extreme values a real layer can produce.
// Each weight is split at pack time (free: it happens once) into b = 16 * hi + lo with
// lo = b & 15 in [0, 15] and hi = b >> 4 in [-8, 7]. A column's k-pair is stored as four bytes
// (lo0, lo1, hi0, hi1) and the activation pair (a0, a1) is broadcast as (a0, a1, a0, a1), so
// vpmaddubsw yields the int16 lanes a0 lo0 + a1 lo1 <= 7650 and a0 hi0 + a1 hi1 in [-4080, 3570]
// (never saturating) and vpmaddwd against the constant pair (1, 16) rebuilds
// a0 b0 + a1 b1 exactly in int32. The cost: two multiply uops (vpmaddubsw, vpmaddwd) per 16
// products, half the int8 peak's rate; `avx2` gets one per 16 by widening to int16 instead.
#if defined(__x86_64__)
#include <immintrin.h>

#include "quant/kernels/cpu_features.h"
#include "quant/kernels/qgemm_tile.h"

namespace qgrad::quant {

namespace {

// int32 lanes a0 * b0 + a1 * b1 for 8 columns, exactly (see the file comment).
inline __m256i madd_pair_nibbles(__m256i a_pair, __m256i b_nibbles) {
  const __m256i lo_hi_weights = _mm256_set1_epi32(0x00100001);  // int16 (1, 16)
  return _mm256_madd_epi16(_mm256_maddubs_epi16(a_pair, b_nibbles), lo_hi_weights);
}

struct Avx2NibbleMicro {
  static constexpr int kMr = 4, kNr = 16, kKg = 2, kGroupBytes = 4;

  static void run(const uint8_t* const* a, int64_t k, const int8_t* panel, int32_t* tile) {
    __m256i acc[kMr][2];
    for (auto& row : acc) row[0] = row[1] = _mm256_setzero_si256();
    auto step = [&](int64_t g, const uint8_t* const* at) {
      const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + g * 64));
      const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + g * 64 + 32));
      for (int r = 0; r < kMr; ++r) {
        const __m256i av = _mm256_set1_epi16(static_cast<short>(detail::load_word<kKg>(at[r])));
        acc[r][0] = _mm256_add_epi32(acc[r][0], madd_pair_nibbles(av, b0));
        acc[r][1] = _mm256_add_epi32(acc[r][1], madd_pair_nibbles(av, b1));
      }
    };
    detail::for_each_a_group<kMr, kKg>(a, k, step);
    for (int r = 0; r < kMr; ++r) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * kNr), acc[r][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * kNr + 8), acc[r][1]);
    }
  }
};

void pack_avx2_nibble(const int8_t* b, int64_t ldb, int64_t k, int64_t n, int8_t* dst) {
  detail::pack_panels(b, ldb, k, n, Avx2NibbleMicro::kNr, Avx2NibbleMicro::kKg, Avx2NibbleMicro::kGroupBytes, dst,
                      [](const int8_t* v, int8_t* out) {
                        for (int t = 0; t < 2; ++t) {
                          out[t] = static_cast<int8_t>(v[t] & 15);
                          out[2 + t] = static_cast<int8_t>(v[t] >> 4);
                        }
                      });
}

void qgemm_u8s8s32_avx2_nibble(const QGemmCall& c) { detail::drive<Avx2NibbleMicro>(c, c.za); }

}  // namespace

extern const QGemmKernel kQGemmAvx2Nibble;
const QGemmKernel kQGemmAvx2Nibble = {"avx2_nibble", Avx2NibbleMicro::kNr, Avx2NibbleMicro::kKg, Avx2NibbleMicro::kGroupBytes,
                                pack_avx2_nibble, qgemm_u8s8s32_avx2_nibble, detail::cpu_has_avx2};

}  // namespace qgrad::quant
#endif
