// Quantization parameters: how an integer q stands for a real number.
//
//   real = scale * (q - zero_point)          q in [qmin, qmax], stored in int8 or uint8
//
// One (scale, zero_point) pair per tensor, or one per channel along `axis` (e.g. axis 0 of a
// conv weight [O, C, kH, kW]: O pairs, each output channel with its own range).
//
// Two ways of choosing them from an observed range [min, max] (qparams_from_range):
//
// * asymmetric (affine), unsigned q in [0, 2^n - 1] — activations.
//   The range is first widened to contain 0:  min' = min(min, 0),  max' = max(max, 0), then
//     scale      = (max' - min') / (2^n - 1)
//     zero_point = clamp(round(-min' / scale), 0, 2^n - 1)          (an integer)
//   so q = zero_point stands for exactly 0.0. Zero must be exact because it is everywhere in a
//   network and carries meaning: zero padding of a convolution, every negative input a ReLU
//   clipped, the zero bias — an error there would be a systematic bias added to every sum, not
//   noise that averages out. With an integer zero point, padding is just "fill with zero_point".
//   The article (§4.1) writes  q = round((x - min) / (max - min) * (2^n - 1)),  which is
//   q = round((x - min) / scale). Ours is  q = round(x / scale) + zero_point: the same formula
//   on the range nudged so that min lands on the integer grid, [-zero_point * scale,
//   (2^n - 1 - zero_point) * scale] — the nudge moves the range by less than scale / 2.
//   When min <= 0 <= max and -min/scale is already an integer the two agree exactly, with q
//   counted from qmin = 0. (When the range does not contain 0, the article quantizes it finer,
//   but then 0 is not representable at all, which the widening above rules out.)
//
// * symmetric, signed q in [-(2^(n-1) - 1), 2^(n-1) - 1] — weights.
//     scale = max(|min|, |max|) / (2^(n-1) - 1),   zero_point = 0
//   The range is restricted: for 8 bits -128 is never used, so q and -q are both representable
//   and the weight grid is symmetric around 0. The integer GEMM relies on this: with
//   zero_point 0 the weight offset terms vanish, negating a weight never overflows, and SIMD
//   kernels that add two int8 x int8 products in 16 bits cannot overflow:
//   2 * 127 * 128 = 32512 <= 32767, whereas 2 * (-128) * (-128) = 32768 would.
//
// Degenerate ranges: a range of width 0 after widening (an all-zero tensor, or min = max = 0)
// gets scale 1.0 — any scale represents 0 exactly, and 1.0 keeps 1/scale and later
// requantization multipliers harmless. A tiny non-zero range is floored at the smallest normal
// float (about 1.2e-38), so the scale is never 0, subnormal, NaN or inf and 1/scale is finite.
//
// Bits 2..8 are supported; values of fewer than 8 bits are still stored one per int8/uint8.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "core/tensor.h"

namespace qgrad::quant {

struct QParams {
  std::vector<float> scale;         // one entry per tensor, or one per channel along axis
  std::vector<int32_t> zero_point;  // as many entries as scale
  int bits = 8;
  bool is_signed = false;           // signed: restricted symmetric range; unsigned: [0, 2^n - 1]
  std::optional<int64_t> axis = std::nullopt;  // the channel axis; empty = per-tensor

  int32_t qmin() const { return is_signed ? -((1 << (bits - 1)) - 1) : 0; }
  int32_t qmax() const { return is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1; }
  DType dtype() const { return is_signed ? DType::Int8 : DType::UInt8; }
  bool per_channel() const { return axis.has_value(); }
  int64_t channels() const { return static_cast<int64_t>(scale.size()); }

  // Fails naming op unless the parameters are self-consistent: bits in 2..8, equal non-empty
  // scale/zero_point lists (one entry when per-tensor), positive finite scales, zero points
  // in [qmin, qmax].
  void validate(const char* op) const;
  // validate(), and that they fit a tensor of this shape: the axis exists and has channels()
  // entries. Returns the axis normalized to [0, ndim) (0 for per-tensor).
  int64_t validate_for(const Shape& shape, const char* op) const;
};

// How to choose QParams: the options every observer and range function takes.
struct QScheme {
  int bits = 8;
  bool symmetric = false;       // true: signed, zero_point 0; false: unsigned, asymmetric
  std::optional<int64_t> axis = std::nullopt;  // per-channel along this axis; empty = per-tensor
};

// Fails naming op unless bits is in 2..8.
void check_bits(int bits, const char* op);

// Per-tensor QParams for the range [min, max] (see the header comment for the formulas).
// scheme.axis must be empty. Fails on min > max or a non-finite bound.
QParams qparams_from_range(float min, float max, const QScheme& scheme);
// Per-channel QParams: min[c], max[c] for each channel c along scheme.axis (which must be set).
QParams qparams_from_range(const std::vector<float>& min, const std::vector<float>& max,
                           const QScheme& scheme);

// The bit width b in 2..8 of an unsigned range [0, qmax] with qmax = 2^b - 1; 0 for any other qmax.
int bits_of_qmax(int64_t qmax);
// Per-tensor unsigned (activation) QParams with qmax = 2^bits - 1; fails unless bits_of_qmax(qmax) > 0.
QParams activation_qparams(float scale, int32_t zero_point, int32_t qmax);

}  // namespace qgrad::quant
