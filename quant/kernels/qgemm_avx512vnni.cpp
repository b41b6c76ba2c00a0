// qgemm_u8s8s32_avx512vnni: the u8 x s8 -> s32 GEMM with vpdpbusd (compiled with -mavx512f
// -mavx512bw -mavx512vnni). vpdpbusd multiplies 4 unsigned activation bytes by 4 signed weight
// bytes and adds the four products straight into an int32 lane, so there is no int16
// intermediate and nothing saturates (the plain form, not vpdpbusds, wraps like ref's int32).
// That is also why activations stay uint8 (the unsigned operand) and weights int8.
// Micro-kernel: 4 rows x 32 columns, 8 zmm accumulators; k advances in groups of 4, each column's
// group stored as 4 consecutive bytes so one 64-byte load covers 16 columns.
#if defined(__x86_64__)
#include <immintrin.h>

#include "quant/kernels/cpu_features.h"
#include "quant/kernels/qgemm_tile.h"

namespace qgrad::quant {

namespace {

struct Avx512VnniMicro {
  static constexpr int kMr = 4, kNr = 32, kKg = 4, kGroupBytes = 4;

  static void run(const uint8_t* const* a, int64_t k, const int8_t* panel, int32_t* tile) {
    __m512i acc[kMr][2];
    for (auto& row : acc) row[0] = row[1] = _mm512_setzero_si512();
    auto step = [&](int64_t g, const uint8_t* const* at) {
      const __m512i b0 = _mm512_loadu_si512(panel + g * 128);
      const __m512i b1 = _mm512_loadu_si512(panel + g * 128 + 64);
      for (int r = 0; r < kMr; ++r) {
        const __m512i av = _mm512_set1_epi32(static_cast<int>(detail::load_word<kKg>(at[r])));
        acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, b0);
        acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, b1);
      }
    };
    detail::for_each_a_group<kMr, kKg>(a, k, step);
    for (int r = 0; r < kMr; ++r) {
      _mm512_storeu_si512(tile + r * kNr, acc[r][0]);
      _mm512_storeu_si512(tile + r * kNr + 16, acc[r][1]);
    }
  }
};

void pack_avx512vnni(const int8_t* b, int64_t ldb, int64_t k, int64_t n, int8_t* dst) {
  detail::pack_panels(b, ldb, k, n, Avx512VnniMicro::kNr, Avx512VnniMicro::kKg,
                      Avx512VnniMicro::kGroupBytes, dst, [](const int8_t* v, int8_t* out) {
                        for (int t = 0; t < 4; ++t) out[t] = v[t];
                      });
}

void qgemm_u8s8s32_avx512vnni(const QGemmCall& c) { detail::drive<Avx512VnniMicro>(c, c.za); }

}  // namespace

extern const QGemmKernel kQGemmAvx512Vnni;
const QGemmKernel kQGemmAvx512Vnni = {"avx512vnni", Avx512VnniMicro::kNr, Avx512VnniMicro::kKg,
                                      Avx512VnniMicro::kGroupBytes, pack_avx512vnni,
                                      qgemm_u8s8s32_avx512vnni, detail::cpu_has_avx512vnni};

}  // namespace qgrad::quant
#endif
