// Quantization error metrics between a float tensor x and its (fake-)quantized version x_hat
// (same shape; any quantizer: linear, k-means codebook, power-of-two).
//
//   mse(x, x_hat)            = 1/N * sum_i (x_i - x_hat_i)^2
//   sqnr_db(x, x_hat)        = 10 * log10( sum_i x_i^2 / sum_i (x_i - x_hat_i)^2 )
//                              signal-to-quantization-noise ratio; each extra bit of a uniform
//                              quantizer adds about 6.02 dB. +inf when x_hat == x exactly.
//   clipped_fraction(x, qp)  = share of elements with round(x / scale) + zero_point outside
//                              [qmin, qmax] — the elements the STE gives zero gradient.
// Sums are taken in double.
#pragma once
#include "core/tensor.h"
#include "quant/math/qparams.h"

namespace qgrad::quant {

double mse(const Tensor& x, const Tensor& x_hat);
double sqnr_db(const Tensor& x, const Tensor& x_hat);
double clipped_fraction(const Tensor& x, const QParams& qp);

}  // namespace qgrad::quant
