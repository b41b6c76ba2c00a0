#include "quant/math/nonlinear.h"

#include <algorithm>
#include <cmath>

#include "core/ops/op_support.h"
#include "nn/safetensors.h"
#include "quant/math/qparams.h"

namespace qgrad::quant {

namespace {

// Index of the nearest centroid, with centroids ascending and mid[j] = (c[j] + c[j+1]) / 2.
// A value exactly on a midpoint goes to the upper centroid.
uint8_t nearest(const std::vector<double>& mid, double v) {
  return static_cast<uint8_t>(std::upper_bound(mid.begin(), mid.end(), v) - mid.begin());
}

void check_weight(const Tensor& w, const char* op) {
  qgrad::detail::require_float(w, op);
  check(w.numel() > 0, op, "got an empty tensor of shape ", shape_str(w.shape()));
  check(w.device() == Device::CPU, op, "runs on cpu tensors, got a ", device_name(w.device()), " tensor");
  const int64_t bad = nn::first_non_finite(w);
  check(bad < 0, op, "weight contains a non-finite value ", bad < 0 ? 0.f : w.contiguous().data<float>()[bad],
        " at flat index ", bad);
}

}  // namespace

// --- k-means codebook -----------------------------------------------------------------------

Codebook kmeans_quantize(const Tensor& weight, const KMeansOptions& options) {
  const char* op = "kmeans_quantize";
  check_weight(weight, op);
  check(options.bits >= 1 && options.bits <= 8, op, "bits must be in 1..8, got ", options.bits);
  check(options.max_iterations >= 1, op, "max_iterations must be at least 1, got ", options.max_iterations);
  Tensor wc = qgrad::detail::compact(weight);
  const float* w = wc.data<float>();
  const int64_t n = wc.numel();
  const int k = 1 << options.bits;

  const auto [mn, mx] = std::minmax_element(w, w + n);
  std::vector<double> c(k), mid(k - 1), sum(k);
  std::vector<int64_t> count(k);
  for (int j = 0; j < k; ++j) c[j] = *mn + (double(*mx) - *mn) * j / (k - 1);

  Codebook cb;
  cb.indices = empty(weight.shape(), DType::UInt8);
  uint8_t* idx = cb.indices.data<uint8_t>();
  std::fill_n(idx, n, uint8_t{0});
  // Assigns every weight to its nearest centroid and gathers the cluster sums; returns whether
  // any assignment changed. Empty clusters keep their place, so the centroids can leave
  // ascending order: they are sorted first.
  auto assign = [&] {
    std::sort(c.begin(), c.end());
    for (int j = 0; j + 1 < k; ++j) mid[j] = 0.5 * (c[j] + c[j + 1]);
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(count.begin(), count.end(), 0);
    bool changed = false;
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t j = nearest(mid, w[i]);
      changed |= j != idx[i];
      idx[i] = j;
      sum[j] += w[i];
      ++count[j];
    }
    return changed;
  };
  for (cb.iterations = 0; cb.iterations < options.max_iterations; ++cb.iterations) {
    const bool changed = assign();
    if (!changed && cb.iterations > 0) break;
    for (int j = 0; j < k; ++j)
      if (count[j] > 0) c[j] = sum[j] / static_cast<double>(count[j]);
  }
  // The final indices point at the nearest of the final (sorted) centroids.
  assign();
  cb.centroids = empty({k});
  std::transform(c.begin(), c.end(), cb.centroids.data<float>(), [](double v) { return static_cast<float>(v); });
  return cb;
}

Tensor Codebook::reconstruct() const { return codebook_reconstruct(centroids, indices); }

Tensor codebook_reconstruct(const Tensor& centroids, const Tensor& indices) {
  const char* op = "codebook_reconstruct";
  qgrad::detail::require_float(centroids, op);
  check(centroids.dim() == 1, op, "centroids must be 1-D, got shape ", shape_str(centroids.shape()));
  check(indices.dtype() == DType::UInt8, op, "indices must be uint8, got ", dtype_name(indices.dtype()));
  Tensor cc = qgrad::detail::compact(centroids), ic = indices.contiguous();
  const float* c = cc.data<float>();
  const uint8_t* idx = ic.data<uint8_t>();
  Tensor out = empty(indices.shape());
  float* o = out.data<float>();
  for (int64_t i = 0; i < ic.numel(); ++i) {
    check(idx[i] < cc.numel(), op, "index ", int(idx[i]), " is past the ", cc.numel(), "-entry codebook");
    o[i] = c[idx[i]];
  }
  return out;
}

Tensor codebook_gradient(const Tensor& indices, const Tensor& weight_grad, int64_t n_clusters) {
  const char* op = "codebook_gradient";
  qgrad::detail::require_float(weight_grad, op);
  check(indices.dtype() == DType::UInt8, op, "indices must be uint8, got ", dtype_name(indices.dtype()));
  check(indices.shape() == weight_grad.shape(), op, "indices of shape ", shape_str(indices.shape()),
        " and gradient of shape ", shape_str(weight_grad.shape()), " differ");
  check(n_clusters >= 1 && n_clusters <= 256, op, "n_clusters must be in 1..256, got ", n_clusters);
  Tensor ic = indices.contiguous(), gc = qgrad::detail::compact(weight_grad);
  const uint8_t* idx = ic.data<uint8_t>();
  const float* g = gc.data<float>();
  std::vector<double> acc(n_clusters, 0.0);
  for (int64_t i = 0; i < ic.numel(); ++i) {
    check(idx[i] < n_clusters, op, "index ", int(idx[i]), " is not below n_clusters ", n_clusters);
    acc[idx[i]] += g[i];
  }
  Tensor out = empty({n_clusters});
  std::transform(acc.begin(), acc.end(), out.data<float>(), [](double v) { return static_cast<float>(v); });
  return out;
}

// --- power of two ---------------------------------------------------------------------------

namespace {

// The exponent k of the power of two nearest to a > 0 in linear terms (ties up). frexp is
// exact: a = m * 2^e with m in [0.5, 1), so a lies in [2^(e-1), 2^e) and the midpoint of that
// interval is 1.5 * 2^(e-1).
int nearest_exponent(double a) {
  int e = 0;
  std::frexp(a, &e);
  return a >= std::ldexp(1.5, e - 1) ? e : e - 1;
}

}  // namespace

PowerOfTwo power_of_two_quantize(const Tensor& weight, int bits) {
  const char* op = "power_of_two_quantize";
  check_weight(weight, op);
  check_bits(bits, op);
  Tensor wc = qgrad::detail::compact(weight);
  const float* w = wc.data<float>();
  const int64_t n = wc.numel();
  double amax = 0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::abs(double(w[i])));
  PowerOfTwo p;
  p.codes = zeros(weight.shape(), DType::Int8);
  if (amax == 0) return p;
  const int exponents = (1 << (bits - 1)) - 1;
  p.k_max = nearest_exponent(amax);
  p.k_min = p.k_max - (exponents - 1);
  const double zero_below = std::ldexp(1.0, p.k_min - 1);
  int8_t* code = p.codes.data<int8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const double a = std::abs(double(w[i]));
    if (a < zero_below) continue;
    const int k = std::clamp(nearest_exponent(a), p.k_min, p.k_max);
    code[i] = static_cast<int8_t>((w[i] < 0 ? -1 : 1) * (k - p.k_min + 1));
  }
  return p;
}

Tensor PowerOfTwo::reconstruct() const {
  check(codes.dtype() == DType::Int8, "PowerOfTwo::reconstruct", "codes must be int8, got ",
        dtype_name(codes.dtype()));
  Tensor cc = codes.contiguous();
  const int8_t* code = cc.data<int8_t>();
  Tensor out = empty(codes.shape());
  float* o = out.data<float>();
  for (int64_t i = 0; i < cc.numel(); ++i) {
    const int m = std::abs(int(code[i]));
    o[i] = m == 0 ? 0.f : static_cast<float>((code[i] < 0 ? -1 : 1) * std::ldexp(1.0, k_min + m - 1));
  }
  return out;
}

// --- on the integer grid ----------------------------------------------------------------------

WeightMethod parse_weight_method(const std::string& name) {
  if (name == "linear") return WeightMethod::Linear;
  if (name == "kmeans") return WeightMethod::KMeans;
  if (name == "pow2") return WeightMethod::PowerOfTwo;
  fail("parse_weight_method", "unknown weight method '", name, "' (expected linear, kmeans or pow2)");
}

std::string to_string(WeightMethod method) {
  return method == WeightMethod::Linear ? "linear" : method == WeightMethod::KMeans ? "kmeans" : "pow2";
}

Tensor IntCodebook::codes() const {
  const char* op = "IntCodebook::codes";
  check(indices.dtype() == DType::UInt8, op, "indices must be uint8, got ", dtype_name(indices.dtype()));
  Tensor ic = indices.contiguous();
  const uint8_t* idx = ic.data<uint8_t>();
  Tensor out = empty(indices.shape(), DType::Int8);
  int8_t* o = out.data<int8_t>();
  for (int64_t i = 0; i < ic.numel(); ++i) {
    check(idx[i] < levels.size(), op, "index ", int(idx[i]), " at ", i, " is past the ", levels.size(),
          "-entry codebook");
    o[i] = levels[idx[i]];
  }
  return out;
}

QParams IntCodebook::qparams() const {
  QParams q;
  q.scale = {scale};
  q.zero_point = {0};
  q.bits = 8;
  q.is_signed = true;
  return q;
}

Tensor IntCodebook::reconstruct() const {
  const Tensor c = codes();
  const int8_t* q = c.data<int8_t>();
  Tensor out = empty(c.shape());
  float* o = out.data<float>();
  for (int64_t i = 0; i < c.numel(); ++i) o[i] = scale * static_cast<float>(q[i]);
  return out;
}

IntCodebook int_codebook(const Tensor& weight, WeightMethod method, int bits) {
  const char* op = "int_codebook";
  check(method != WeightMethod::Linear, op, "linear weights have no codebook");
  IntCodebook cb;
  cb.bits = bits;
  cb.levels.assign(size_t{1} << bits, 0);
  if (method == WeightMethod::KMeans) {
    check_bits(bits, op);
    const Codebook km = kmeans_quantize(weight, {.bits = bits});
    const std::vector<float> c = km.centroids.to_vector();
    float amax = 0;
    for (float v : c) amax = std::max(amax, std::abs(v));
    if (amax > 0) cb.scale = amax / 127.f;
    for (size_t j = 0; j < c.size(); ++j)
      cb.levels[j] = static_cast<int8_t>(std::clamp(std::round(c[j] / cb.scale), -127.f, 127.f));
    cb.indices = km.indices;
    return cb;
  }
  check(bits >= 2 && bits <= 4, op, "power-of-two levels on the int8 grid need bits in 2..4, got ", bits,
        " (the largest level is 2^(2^(bits-1) - 2))");
  const PowerOfTwo p = power_of_two_quantize(weight, bits);
  cb.scale = std::ldexp(1.f, p.k_min);
  check(std::isnormal(cb.scale), op, "the smallest power of two 2^", p.k_min, " is not a normal float");
  const int half = 1 << (bits - 1);
  for (int i = 0; i < (1 << bits); ++i) {
    const int m = i >= half ? i - (1 << bits) : i;  // the code the field i holds
    if (m != 0 && m != -half) cb.levels[static_cast<size_t>(i)] = static_cast<int8_t>((m < 0 ? -1 : 1) << (std::abs(m) - 1));
  }
  cb.indices = empty(weight.shape(), DType::UInt8);
  const int8_t* code = p.codes.data<int8_t>();
  uint8_t* idx = cb.indices.data<uint8_t>();
  for (int64_t i = 0; i < p.codes.numel(); ++i) idx[i] = static_cast<uint8_t>(code[i] & ((1 << bits) - 1));
  return cb;
}

}  // namespace qgrad::quant
