// Non-linear quantization of weights: the levels are not an evenly spaced grid.
//
// k-means codebook (Deep Compression, Han et al. 2016): 2^n shared values (centroids) per
// tensor; each weight stores the n-bit index of its nearest centroid.
//   init:   c_j = min + (max - min) * j / (K - 1),  j = 0..K-1,  K = 2^n  (linear init keeps
//           centroids on the rare large weights, which matter most)
//   Lloyd:  assign each w_i to its nearest centroid, move each centroid to the mean of its
//           weights; a centroid left without weights stays where it is. Repeat until no
//           assignment changes or max_iterations. Deterministic: no random seeding.
//   The centroids come out ascending; reconstruct: w_hat_i = c[index_i].
// Fine-tuning the centroids: a shared value receives the sum of the gradients of the weights
// that share it,  dL/dc_k = sum_{i : index_i = k} dL/dw_i   (codebook_gradient).
//
// Power-of-two (logarithmic) quantization: w_hat = sign(w) * 2^k or 0, so a multiplication by a
// weight becomes a shift. With n bits, 1 is the sign and 2^(n-1) magnitude codes remain: code 0
// is zero, codes 1..2^(n-1)-1 are the exponents k_min..k_max, with
//   k_max = the exponent of max|w| rounded to the nearest power of two (2^k vs 2^(k+1): the
//           midpoint 1.5 * 2^k decides), k_min = k_max - (2^(n-1) - 2).
// Each |w| goes to the nearest level in linear terms (midpoints 1.5 * 2^k between powers,
// 2^(k_min - 1) between 0 and 2^k_min), ties away from zero like the linear quantizer, and
// anything above 2^k_max to 2^k_max. A stored code is sign * (k - k_min + 1).
//
// On the integer model's grid (int_codebook): the integer kernels multiply int8 codes by a
// scale, so a non-linear weight becomes a small codebook of int8 levels at one per-tensor scale s
// plus each weight's index into it, and w_hat = s * level[index] is what both the fake-quant and
// the integer model compute with:
//   kmeans: s = max_j |c_j| / 127, level_j = round(c_j / s)   (two close centroids may merge)
//   pow2:   s = 2^k_min, the level of code m is sign(m) 2^(|m| - 1), exact; the largest,
//           2^(2^(bits-1) - 2), fits int8 for bits <= 4 only
// index = the k-means cluster, or the power-of-two code as a bits-bit two's complement field
// (the unused field -2^(bits-1) has level 0).
//
// Compare either with linear quantization at the same bits through quant/math/metrics.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "quant/math/qparams.h"

namespace qgrad::quant {

struct KMeansOptions {
  int bits = 4;             // 1..8: 2^bits centroids
  int max_iterations = 50;  // Lloyd iterations at most
};

struct Codebook {
  Tensor centroids;  // float32 [2^bits], ascending
  Tensor indices;    // uint8, the weight's shape
  int iterations = 0;  // Lloyd iterations run
  Tensor reconstruct() const;
};

Codebook kmeans_quantize(const Tensor& weight, const KMeansOptions& options = {});
// centroids[indices]: float32 of the indices' shape. Fails on an index past the codebook.
Tensor codebook_reconstruct(const Tensor& centroids, const Tensor& indices);
// float32 [n_clusters]: out[k] = sum of weight_grad over the elements whose index is k.
Tensor codebook_gradient(const Tensor& indices, const Tensor& weight_grad, int64_t n_clusters);

struct PowerOfTwo {
  Tensor codes;   // int8, the weight's shape: 0 for zero, sign * (k - k_min + 1) for sign * 2^k
  int k_min = 0;  // the smallest exponent (all-zero weights: k_min = k_max = 0)
  int k_max = 0;
  Tensor reconstruct() const;
};

// bits in 2..8 (sign included).
PowerOfTwo power_of_two_quantize(const Tensor& weight, int bits);

// How a layer's weights are quantized: the linear grid of quant/math/quantize.h, or one of the
// two non-linear methods above.
enum class WeightMethod { Linear, KMeans, PowerOfTwo };
// "linear" | "kmeans" | "pow2"; fails listing the known names.
WeightMethod parse_weight_method(const std::string& name);
std::string to_string(WeightMethod method);

struct IntCodebook {
  int bits = 0;                // index bits: levels has 2^bits entries
  std::vector<int8_t> levels;  // in [-127, 127]
  Tensor indices;              // uint8, the weight's shape
  float scale = 1;             // real = scale * level
  // levels[indices], int8 of the indices' shape; fails on an index past the codebook.
  Tensor codes() const;
  Tensor reconstruct() const;  // scale * levels[indices], float32
  QParams qparams() const;     // per-tensor symmetric 8-bit at scale
};

// The codebook of a non-linear method (see above); bits in 2..8 for kmeans, 2..4 for pow2.
IntCodebook int_codebook(const Tensor& weight, WeightMethod method, int bits);

}  // namespace qgrad::quant
