// qgemm_u8s8s32_neon_dot: the u8 x s8 -> s32 GEMM with the Armv8.2 dot product (sdot; compiled
// with -march=armv8.2-a+dotprod, a translation unit of its own so the plain NEON kernel can
// never pick up a dot-product instruction). sdot is s8 x s8 (udot is u8 x u8; there is no mixed
// form before the Armv8.6 i8mm extension), so the activations are shifted into int8:
//   a' = a - 128 = a XOR 0x80,   sum_k a b = sum_k a' b + 128 colsum
//   acc = sum_k a b - za colsum = sum_k a' b - (za - 128) colsum
// i.e. the shift costs one XOR per broadcast activation word and the +128 rides on the colsum
// term the epilogue applies anyway (zero point za - 128).
// Micro-kernel: 4 rows x 16 columns, 16 int32x4 accumulators; k advances in groups of 4, each
// column's group stored as 4 consecutive bytes.
#if defined(__aarch64__)
#include <arm_neon.h>

#include "quant/kernels/cpu_features.h"
#include "quant/kernels/qgemm_tile.h"

namespace qgrad::quant {

namespace {

struct NeonDotMicro {
  static constexpr int kMr = 4, kNr = 16, kKg = 4, kGroupBytes = 4;

  static void run(const uint8_t* const* a, int64_t k, const int8_t* panel, int32_t* tile) {
    int32x4_t acc[kMr][4];
    for (auto& row : acc)
      for (auto& v : row) v = vdupq_n_s32(0);
    auto step = [&](int64_t g, const uint8_t* const* at) {
      const int8_t* b = panel + g * kNr * kGroupBytes;
      const int8x16_t b0 = vld1q_s8(b), b1 = vld1q_s8(b + 16), b2 = vld1q_s8(b + 32),
                      b3 = vld1q_s8(b + 48);
      for (int r = 0; r < kMr; ++r) {
        const int8x16_t av = vreinterpretq_s8_u32(vdupq_n_u32(detail::load_word<kKg>(at[r]) ^ 0x80808080u));
        acc[r][0] = vdotq_s32(acc[r][0], b0, av);
        acc[r][1] = vdotq_s32(acc[r][1], b1, av);
        acc[r][2] = vdotq_s32(acc[r][2], b2, av);
        acc[r][3] = vdotq_s32(acc[r][3], b3, av);
      }
    };
    detail::for_each_a_group<kMr, kKg>(a, k, step);
    for (int r = 0; r < kMr; ++r)
      for (int q = 0; q < 4; ++q) vst1q_s32(tile + r * kNr + 4 * q, acc[r][q]);
  }
};

void pack_neon_dot(const int8_t* b, int64_t ldb, int64_t k, int64_t n, int8_t* dst) {
  detail::pack_panels(b, ldb, k, n, NeonDotMicro::kNr, NeonDotMicro::kKg, NeonDotMicro::kGroupBytes,
                      dst, [](const int8_t* v, int8_t* out) {
                        for (int t = 0; t < 4; ++t) out[t] = v[t];
                      });
}

void qgemm_u8s8s32_neon_dot(const QGemmCall& c) { detail::drive<NeonDotMicro>(c, c.za - 128); }

}  // namespace

extern const QGemmKernel kQGemmNeonDot;
const QGemmKernel kQGemmNeonDot = {"neon_dot", NeonDotMicro::kNr, NeonDotMicro::kKg,
                                   NeonDotMicro::kGroupBytes, pack_neon_dot, qgemm_u8s8s32_neon_dot,
                                   detail::cpu_has_neon_dot};

}  // namespace qgrad::quant
#endif
