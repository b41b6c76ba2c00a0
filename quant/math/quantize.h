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
// Values of fewer than 8 bits are stored one per int8/uint8 element. quantize/dequantize take
// CPU tensors; fake_quantize also CUDA tensors (quant/kernels/cuda/fake_quant_cuda.h, the same
// scalar rules compiled for the device).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "quant/math/qparams.h"
#include "quant/math/quantize_rules.h"

namespace qgrad::quant {

// --- tensors ---------------------------------------------------------------------------------
// float32 -> qp.dtype() (int8 when qp.is_signed, else uint8). Not differentiable. Fails on NaN.
Tensor quantize(const Tensor& x, const QParams& qp);
// qp.dtype() -> float32.
Tensor dequantize(const Tensor& q, const QParams& qp);
// dequantize(quantize(x, qp), qp) without the integer tensor; differentiable by the STE above.
// NaN stays NaN.
Tensor fake_quantize(const Tensor& x, const QParams& qp);

}  // namespace qgrad::quant
