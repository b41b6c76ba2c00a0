// qgemm_u8s8s32_neon: the u8 x s8 -> s32 GEMM for any Armv8.0 NEON CPU (no dot product).
// Both operands are widened to int16 (uint8 0..255 fits a signed int16 exactly; weights are
// widened once, at pack time) and multiplied with smlal by lane: each instruction does
// 4 int16 x int16 -> int32 multiply-adds, exact and without saturation.
// Micro-kernel: 4 rows x 16 columns, 16 int32x4 accumulators; k advances in groups of 4, each
// column's group stored as 4 int16 so vld4 de-interleaves a group into 4 k-rows of 8 columns.
#if defined(__aarch64__)
#include <arm_neon.h>

#include "quant/kernels/cpu_features.h"
#include "quant/kernels/qgemm_tile.h"

namespace qgrad::quant {

namespace {

// acc[r][q] += a_r[t] * B[t][4q .. 4q + 3] for the 16 columns of b (k-row t of the group).
template <int t>
inline void mla_k_row(int32x4_t (&acc)[4][4], const int16x4_t (&a)[4], const int16x8_t b_lo,
                      const int16x8_t b_hi) {
  for (int r = 0; r < 4; ++r) {
    acc[r][0] = vmlal_lane_s16(acc[r][0], vget_low_s16(b_lo), a[r], t);
    acc[r][1] = vmlal_lane_s16(acc[r][1], vget_high_s16(b_lo), a[r], t);
    acc[r][2] = vmlal_lane_s16(acc[r][2], vget_low_s16(b_hi), a[r], t);
    acc[r][3] = vmlal_lane_s16(acc[r][3], vget_high_s16(b_hi), a[r], t);
  }
}

struct NeonMicro {
  static constexpr int kMr = 4, kNr = 16, kKg = 4, kGroupBytes = 8;

  static void run(const uint8_t* const* a, int64_t k, const int8_t* panel, int32_t* tile) {
    int32x4_t acc[kMr][4];
    for (auto& row : acc)
      for (auto& v : row) v = vdupq_n_s32(0);
    auto step = [&](int64_t g, const uint8_t* const* at) {
      const int16_t* b = reinterpret_cast<const int16_t*>(panel + g * kNr * kGroupBytes);
      const int16x8x4_t lo = vld4q_s16(b);       // columns 0..7, val[t] = k-row t
      const int16x8x4_t hi = vld4q_s16(b + 32);  // columns 8..15
      int16x4_t av[kMr];
      for (int r = 0; r < kMr; ++r)
        av[r] = vget_low_s16(vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(detail::load_word<kKg>(at[r])))));
      mla_k_row<0>(acc, av, lo.val[0], hi.val[0]);
      mla_k_row<1>(acc, av, lo.val[1], hi.val[1]);
      mla_k_row<2>(acc, av, lo.val[2], hi.val[2]);
      mla_k_row<3>(acc, av, lo.val[3], hi.val[3]);
    };
    detail::for_each_a_group<kMr, kKg>(a, k, step);
    for (int r = 0; r < kMr; ++r)
      for (int q = 0; q < 4; ++q) vst1q_s32(tile + r * kNr + 4 * q, acc[r][q]);
  }
};

void pack_neon(const int8_t* b, int64_t ldb, int64_t k, int64_t n, int8_t* dst) {
  detail::pack_panels(b, ldb, k, n, NeonMicro::kNr, NeonMicro::kKg, NeonMicro::kGroupBytes, dst,
                      [](const int8_t* v, int8_t* out) {
                        for (int t = 0; t < 4; ++t) {
                          const int16_t w = v[t];
                          std::memcpy(out + 2 * t, &w, 2);
                        }
                      });
}

void qgemm_u8s8s32_neon(const QGemmCall& c) { detail::drive<NeonMicro>(c, c.za); }

}  // namespace

extern const QGemmKernel kQGemmNeon;
const QGemmKernel kQGemmNeon = {"neon", NeonMicro::kNr, NeonMicro::kKg, NeonMicro::kGroupBytes,
                                pack_neon, qgemm_u8s8s32_neon, detail::cpu_has_neon};

}  // namespace qgrad::quant
#endif
