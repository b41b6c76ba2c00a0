// Linear quantization of tensors with QParams (quant/math/qparams.h), and fake quantization.
//
//   quantize:      q     = clamp(round(x / scale) + zero_point, qmin, qmax)     float32 -> int8/uint8
//   dequantize:    x_hat = scale * (q - zero_point)                            int8/uint8 -> float32
//   fake_quantize: x_hat = dequantize(quantize(x)), in one pass, staying in float32
//
// Rounding: half away from zero (std::round), everywhere — it is the article's 四舍五入, the
// rule of Tensor::to() and the backend's float->int cast, and the rule the fixed-point
// requantization rounds with, so every path agrees bit for bit. The scalar rules below are the
// single definition all of quant/ uses.
//
// Straight-through estimator (the article's §4.2: quantized forward, float backward). round()
// has derivative 0 almost everywhere, which would stop training, so fake_quantize's backward
// pretends the rounding is the identity:
//   d x_hat / d x = 1   where qmin <= round(x / scale) + zero_point <= qmax  (inside the clip range)
//                   0   elsewhere (clamped values: moving x does not move x_hat)
// Values that round exactly onto qmin or qmax still pass the gradient.
//
// Per-channel QParams apply channel c's scale and zero point to every element whose index
// along qp.axis is c (e.g. output channel c of a conv weight [O, C, kH, kW] with axis 0).
// Values of fewer than 8 bits are stored one per int8/uint8 element. CPU tensors only.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/tensor.h"
#include "quant/math/qparams.h"

namespace qgrad::quant {

// --- the scalar rules ------------------------------------------------------------------------
// round(x / scale) + zero_point before clamping, as a float (exact: |q| < 2^24). Outside
// [qmin, qmax] means x is clipped.
inline float quantize_unclamped(float x, float scale, int32_t zero_point) {
  return std::round(x / scale) + static_cast<float>(zero_point);
}
// Whether an unclamped q lies inside [qmin, qmax]: where the STE passes the gradient, and the
// complement of what clipped_fraction counts.
inline bool in_clip_range(float q, int32_t qmin, int32_t qmax) {
  return q >= static_cast<float>(qmin) && q <= static_cast<float>(qmax);
}
// Written with comparisons (not fmin/fmax) so a NaN stays NaN instead of becoming qmin.
inline float clamp_q(float q, int32_t qmin, int32_t qmax) {
  const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  return q < lo ? lo : (q > hi ? hi : q);
}
inline float dequantize_value(float q, float scale, int32_t zero_point) {
  return scale * (q - static_cast<float>(zero_point));
}

// --- tensors ---------------------------------------------------------------------------------
// float32 -> qp.dtype() (int8 when qp.is_signed, else uint8). Not differentiable. Fails on NaN.
Tensor quantize(const Tensor& x, const QParams& qp);
// qp.dtype() -> float32.
Tensor dequantize(const Tensor& q, const QParams& qp);
// dequantize(quantize(x, qp), qp) without the integer tensor; differentiable by the STE above.
// NaN stays NaN.
Tensor fake_quantize(const Tensor& x, const QParams& qp);

}  // namespace qgrad::quant
