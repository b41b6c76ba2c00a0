// Non-linear quantization: k-means codebooks (structure, nearest assignment, a hand example,
// error against linear quantization on a bimodal distribution, the centroid gradient) and
// power-of-two quantization (levels, a hand example), plus misuse; both on the int8 grid of the
// integer model (int_codebook) and the packing of their indices.
#include <catch2/catch.hpp>

#include <cmath>

#include "qgrad.h"
#include "quant/math/packing.h"
#include "quant/quant.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

// Two narrow modes at -1 and +1 (the shape of trained weights after pruning).
Tensor bimodal(int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = (i % 2 ? 1.f : -1.f) + 0.1f * gen.normal();
  return from_vector(v, {n / 8, 8});
}

}  // namespace

TEST_CASE("k-means codebook: 2^n ascending centroids, nearest assignment", "[quant]") {
  Tensor w = bimodal(4000, 1);
  for (int bits : {1, 2, 3, 5}) {
    Codebook cb = kmeans_quantize(w, {.bits = bits});
    REQUIRE(cb.centroids.shape() == Shape{1 << bits});
    REQUIRE(cb.indices.dtype() == DType::UInt8);
    REQUIRE(cb.indices.shape() == w.shape());
    std::vector<float> c = cb.centroids.to_vector();
    CHECK(std::is_sorted(c.begin(), c.end()));
    std::vector<uint8_t> idx = cb.indices.to_vector<uint8_t>();
    std::vector<float> wv = w.to_vector(), rec = cb.reconstruct().to_vector();
    for (size_t i = 0; i < wv.size(); ++i) {
      REQUIRE(idx[i] < c.size());
      REQUIRE(rec[i] == c[idx[i]]);
      for (float other : c) REQUIRE(std::abs(wv[i] - c[idx[i]]) <= std::abs(wv[i] - other) + 1e-6f);
    }
  }
}

TEST_CASE("k-means on a hand example", "[quant]") {
  // Linear init at 0 and 1.1; Lloyd moves the centroids to the two group means.
  Codebook cb = kmeans_quantize(from_vector({0.f, 0.1f, 1.1f, 0.9f, 0.2f}, {5}), {.bits = 1});
  std::vector<float> c = cb.centroids.to_vector();
  CHECK(c[0] == Approx(0.1f));
  CHECK(c[1] == Approx(1.0f));
  CHECK(cb.indices.to_vector<uint8_t>() == std::vector<uint8_t>{0, 0, 1, 1, 0});
  CHECK(cb.iterations >= 1);
}

TEST_CASE("k-means beats linear quantization on a bimodal distribution", "[quant]") {
  Tensor w = bimodal(8000, 2);
  for (int bits : {2, 3, 4}) {
    const double e_kmeans = mse(w, kmeans_quantize(w, {.bits = bits}).reconstruct());
    MinMaxObserver obs({.bits = bits});
    obs.observe(w);
    const double e_linear = mse(w, fake_quantize(w, obs.qparams()));
    INFO(bits << " bits: k-means MSE " << e_kmeans << ", linear MSE " << e_linear);
    CHECK(e_kmeans <= e_linear);
  }
}

TEST_CASE("codebook_gradient sums the gradient per cluster", "[quant]") {
  Tensor idx = from_vector<uint8_t>({0, 2, 2, 1, 0}, {5});
  Tensor g = from_vector({1.f, 2.f, 3.f, 4.f, 5.f}, {5});
  CHECK(codebook_gradient(idx, g, 4).to_vector() == std::vector<float>{6.f, 4.f, 5.f, 0.f});
  // Strided inputs: the transposed pair gathers the same elements.
  Tensor idx2 = from_vector<uint8_t>({0, 1, 1, 0}, {2, 2});
  Tensor g2 = from_vector({0.5f, 0.25f, -1.f, 2.f}, {2, 2});
  CHECK(codebook_gradient(idx2.t(), g2.t(), 2).to_vector() == std::vector<float>{2.5f, -0.75f});
  CHECK(codebook_reconstruct(from_vector({-1.f, 0.5f, 2.f}, {3}), idx).to_vector() ==
        std::vector<float>{-1.f, 2.f, 2.f, 0.5f, -1.f});
}

TEST_CASE("power-of-two quantization yields +-2^k or 0", "[quant]") {
  // 3 bits: 3 exponents. max|w| = 2.9 rounds to 2^1, so k in [-1, 1]; below 2^-2 goes to 0.
  PowerOfTwo p = power_of_two_quantize(from_vector({1.f, 0.5f, 0.3f, 0.1f, -0.74f, -0.76f, 0.f, 2.9f}, {8}), 3);
  CHECK(p.k_max == 1);
  CHECK(p.k_min == -1);
  CHECK(p.codes.to_vector<int8_t>() == std::vector<int8_t>{2, 1, 1, 0, -1, -2, 0, 3});
  CHECK(p.reconstruct().to_vector() == std::vector<float>{1.f, 0.5f, 0.5f, 0.f, -0.5f, -1.f, 0.f, 2.f});

  Generator gen(8);
  Tensor w = mul(randn({64, 16}, gen), 0.05f);
  for (int bits = 2; bits <= 8; ++bits) {
    PowerOfTwo q = power_of_two_quantize(w, bits);
    CHECK(q.k_max - q.k_min + 1 == (1 << (bits - 1)) - 1);
    for (float v : q.reconstruct().to_vector()) {
      if (v == 0.f) continue;
      int e = 0;
      const float m = std::frexp(std::abs(v), &e);
      REQUIRE(m == 0.5f);  // an exact power of two
      REQUIRE(e - 1 >= q.k_min);
      REQUIRE(e - 1 <= q.k_max);
    }
    // Comparable to linear quantization at the same bits.
    MinMaxObserver obs({.bits = bits, .symmetric = true});
    obs.observe(w);
    INFO(bits << " bits: power-of-two SQNR " << sqnr_db(w, q.reconstruct()) << " dB, linear "
              << sqnr_db(w, fake_quantize(w, obs.qparams())) << " dB");
    CHECK(sqnr_db(w, q.reconstruct()) > 0);
  }
  CHECK(power_of_two_quantize(zeros({3}), 4).reconstruct().to_vector() == std::vector<float>(3, 0.f));
}

TEST_CASE("non-linear quantization misuse is reported", "[quant]") {
  CHECK_THROWS_WITH(kmeans_quantize(ones({4}), {.bits = 9}), Contains("kmeans_quantize: bits must be in 1..8, got 9"));
  CHECK_THROWS_WITH(kmeans_quantize(ones({4}), {.bits = 0}), Contains("bits must be in 1..8, got 0"));
  CHECK_THROWS_WITH(kmeans_quantize(empty({0}), {}), Contains("kmeans_quantize: got an empty tensor"));
  CHECK_THROWS_WITH(kmeans_quantize(ones({4}, DType::Int8), {}), Contains("expects float32 tensors, got int8"));
  CHECK_THROWS_WITH(kmeans_quantize(from_vector({1.f, NAN}, {2}), {}), Contains("non-finite value"));
  CHECK_THROWS_WITH(kmeans_quantize(ones({4}), {.max_iterations = 0}), Contains("max_iterations must be at least 1"));
  Tensor idx = from_vector<uint8_t>({0, 3}, {2});
  CHECK_THROWS_WITH(codebook_gradient(idx, ones({2}), 3), Contains("codebook_gradient: index 3 is not below n_clusters 3"));
  CHECK_THROWS_WITH(codebook_gradient(idx, ones({3}), 4), Contains("indices of shape [2] and gradient of shape [3] differ"));
  CHECK_THROWS_WITH(codebook_gradient(ones({2}), ones({2}), 4), Contains("indices must be uint8, got float32"));
  CHECK_THROWS_WITH(codebook_reconstruct(ones({3}), idx), Contains("index 3 is past the 3-entry codebook"));
  CHECK_THROWS_WITH(power_of_two_quantize(ones({2}), 1), Contains("power_of_two_quantize: bits must be in 2..8, got 1"));
}

TEST_CASE("int_codebook: int8 levels at one scale; power-of-two exact, k-means within half a step", "[quant]") {
  Tensor w = bimodal(4000, 7);
  for (int bits : {2, 3, 4}) {
    INFO(bits << " bits");
    const IntCodebook p = int_codebook(w, WeightMethod::PowerOfTwo, bits);
    REQUIRE(p.levels.size() == size_t{1} << bits);
    CHECK(p.reconstruct().to_vector() == power_of_two_quantize(w, bits).reconstruct().to_vector());
    const IntCodebook k = int_codebook(w, WeightMethod::KMeans, bits);
    const auto exact = kmeans_quantize(w, {.bits = bits}).reconstruct().to_vector(), r = k.reconstruct().to_vector();
    for (size_t i = 0; i < r.size(); ++i) REQUIRE(std::fabs(r[i] - exact[i]) <= 0.5f * k.scale * 1.0001f);
    for (const IntCodebook* cb : {&p, &k}) {
      for (int8_t l : cb->levels) CHECK(l >= -127);
      CHECK(cb->qparams().scale == std::vector<float>{cb->scale});
      CHECK(cb->qparams().bits == 8);
    }
  }
  CHECK_THROWS_WITH(int_codebook(w, WeightMethod::PowerOfTwo, 5), Contains("need bits in 2..4, got 5"));
  CHECK_THROWS_WITH(int_codebook(w, WeightMethod::Linear, 4), Contains("linear weights have no codebook"));
  CHECK_THROWS_WITH(parse_weight_method("log"), Contains("unknown weight method 'log'"));
  CHECK(parse_weight_method(to_string(WeightMethod::PowerOfTwo)) == WeightMethod::PowerOfTwo);
}

TEST_CASE("pack_indices / unpack_indices round-trip every index at 2..8 bits", "[quant]") {
  for (int bits = 2; bits <= 8; ++bits) {
    INFO(bits << " bits");
    std::vector<uint8_t> idx;
    for (int i = 0; i < 3 * (1 << bits) + 1; ++i) idx.push_back(static_cast<uint8_t>((i * 5) % (1 << bits)));
    const auto packed = pack_indices(idx.data(), static_cast<int64_t>(idx.size()), bits);
    CHECK(static_cast<int64_t>(packed.size()) == packed_bytes(static_cast<int64_t>(idx.size()), storage_bits(bits)));
    CHECK(unpack_indices(packed.data(), static_cast<int64_t>(packed.size()), static_cast<int64_t>(idx.size()), bits) == idx);
  }
  const uint8_t eight = 8;
  CHECK_THROWS_WITH(pack_indices(&eight, 1, 3), Contains("index 8 at 0 does not fit in 3 bits"));
}
