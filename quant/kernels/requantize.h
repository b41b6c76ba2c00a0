// Requantization: turning an int32 GEMM accumulator back into a uint8 activation.
//   real output  = real_multiplier * v,     real_multiplier = S_a * S_w[j] / S_out  (> 0)
//   real_multiplier ~ M0 * 2^-(31 + shift),  M0 in [2^30, 2^31) (Q31 mantissa), shift in [-30, 31]
//   y = clamp(out_zp + round(v * M0 / 2^(31 + shift)), qmin, qmax)
// Round-to-nearest with ties toward +infinity: round(x / 2^t) = floor((x + 2^(t-1)) / 2^t).
// It is computed in ONE step on the exact 64-bit product v * M0 (|v * M0| < 2^62, so adding
// 2^(t-1) <= 2^61 cannot overflow), so there is a single rounding, not gemmlowp's two (its
// SaturatingRoundingDoublingHighMul then RoundingDivideByPOT, both ties-away-from-zero); the two
// schemes differ only on exact ties of negative values and on double-rounding cases. Every SIMD
// kernel reproduces this function bit for bit; the clamp happens on the 64-bit value, so no
// intermediate int32 saturation exists to disagree about. ReLU is fused by qmin = out_zp.
// The CUDA kernels (quant/kernels/cuda) call these same two functions: under nvcc they are
// __host__ __device__, so the GPU epilogue is this definition, not a copy of it.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define QGRAD_REQUANT_INLINE __host__ __device__ __forceinline__
#else
#define QGRAD_REQUANT_INLINE [[gnu::always_inline]] inline
#endif

namespace qgrad::quant {

// Splits real (>= 0, < 2^30) into m0 (Q31 mantissa in [2^30, 2^31)) and shift with
// real ~ m0 * 2^-(31 + shift), relative error <= 2^-31. A real too small to ever change a
// rounded result (< 2^-32: |v| <= 2^31 makes |v * real| < 1/2) becomes m0 = 0, shift = 0.
// Throws qgrad::Error for negative, NaN, infinite or too large values.
void quantize_multiplier(double real, int32_t* m0, int* shift);

// Largest and smallest shift a multiplier may carry (total right shift 31 + shift in [1, 62]).
constexpr int kMinRequantShift = -30;
constexpr int kMaxRequantShift = 31;

// The rounding right shift of the exact product v * m0 by 31 + shift, as described above.
// always_inline: SIMD translation units include this header; an out-of-line copy compiled with
// their ISA flags could otherwise be the one the linker keeps for every caller.
QGRAD_REQUANT_INLINE int64_t rounding_mul(int32_t v, int32_t m0, int shift) {
  const int t = 31 + shift;
  const int64_t p = static_cast<int64_t>(v) * m0;
  return (p + (int64_t{1} << (t - 1))) >> t;  // arithmetic shift = floor division
}

QGRAD_REQUANT_INLINE uint8_t requantize(int32_t v, int32_t m0, int shift, int32_t out_zp,
                                          int32_t qmin, int32_t qmax) {
  int64_t y = out_zp + rounding_mul(v, m0, shift);
  y = y < qmin ? qmin : y;
  y = y > qmax ? qmax : y;
  return static_cast<uint8_t>(y);
}

// Output-stage parameters of the fused epilogue. multiplier/shift hold one entry per output
// column (per_channel) or a single entry for the whole tensor.
struct Requantization {
  const int32_t* multiplier = nullptr;
  const int32_t* shift = nullptr;
  bool per_channel = false;
  int32_t out_zero_point = 0;
  int32_t qmin = 0;    // = out_zero_point fuses a ReLU
  int32_t qmax = 255;
};

}  // namespace qgrad::quant
