// The scalar rules of linear quantization (see quant/math/quantize.h for the formulas and the
// rounding: half away from zero). A header of their own, without tensors, so the CUDA kernels
// (quant/kernels/cuda/fake_quant.cu) compile these same definitions for the device: under nvcc
// they are __host__ __device__, and std::round is the same IEEE operation on either side.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define QGRAD_QUANT_INLINE __host__ __device__ inline
#else
#define QGRAD_QUANT_INLINE inline
#endif

namespace qgrad::quant {

// --- the scalar rules ------------------------------------------------------------------------
// round(x / scale) + zero_point before clamping, as a float (exact: |q| < 2^24). Outside
// [qmin, qmax] means x is clipped.
QGRAD_QUANT_INLINE float quantize_unclamped(float x, float scale, int32_t zero_point) {
  return std::round(x / scale) + static_cast<float>(zero_point);
}
// Whether an unclamped q lies inside [qmin, qmax]: where the STE passes the gradient, and the
// complement of what clipped_fraction counts.
QGRAD_QUANT_INLINE bool in_clip_range(float q, int32_t qmin, int32_t qmax) {
  return q >= static_cast<float>(qmin) && q <= static_cast<float>(qmax);
}
// Written with comparisons (not fmin/fmax) so a NaN stays NaN instead of becoming qmin.
QGRAD_QUANT_INLINE float clamp_q(float q, int32_t qmin, int32_t qmax) {
  const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  return q < lo ? lo : (q > hi ? hi : q);
}
QGRAD_QUANT_INLINE float dequantize_value(float q, float scale, int32_t zero_point) {
  return scale * (q - static_cast<float>(zero_point));
}

}  // namespace qgrad::quant
