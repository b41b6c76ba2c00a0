// The qgemm output stage with AVX2, 8 columns per vector: the zero-point/bias fold and the
// requantization of requantize.h, bit for bit (included only by the -mavx2 translation unit
// qgemm_avx2.cpp; everything is static so no AVX2 copy can leak to another caller).
//   v   = acc - za * colsum[j] + bias[j]                  (int32, wrapping like ref's uint32 sum)
//   y   = clamp(out_zp + ((v * M0[j] + 2^(t-1)) >> t), qmin, qmax),   t = 31 + shift[j] in [1, 62]
// AVX2 has a signed 32x32->64 multiply (vpmuldq, even lanes only) and a per-lane 64-bit LOGICAL
// right shift (vpsrlvq) but no arithmetic one (vpsravq is AVX-512), so the floor shift of a
// negative product is done on its complement: x >> t = ~((~x) >>> t) for x < 0 (both are
// floor(x / 2^t)), written as ((x ^ s) >>> t) ^ s with s = the sign mask of x; the result is
// clamped in 64 bits (it can exceed int32 when t < 32).
// Fast path, taken for a panel whose 16 columns all have t >= 32 (real multiplier < 1/2, the
// common case): floor(x / 2^t) = floor(floor(x / 2^32) / 2^(t - 32)), and floor(x / 2^32) is
// just the high int32 half of x (|x| < 2^62, so it fits), so one 32-bit arithmetic shift by
// t - 32 (vpsravd exists in AVX2) finishes the job and the clamp happens in 32 bits: about half
// the instructions of the general path, which matters when k is small (LeNet conv1: k = 25).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "quant/kernels/qgemm.h"
#include "quant/kernels/qgemm_tile.h"

namespace qgrad::quant::avx2 {

// The per-column constants of one 16-column panel, padded past n (padded columns are computed
// and never stored). Built once per panel and reused for every row of the block.
struct ColumnParams {
  alignas(32) int32_t offset[16];  // bias[j] - za * colsum[j]   (mod 2^32)
  alignas(32) int32_t m0[16];
  alignas(32) int64_t shift_even[8], shift_odd[8];  // t for columns 0,2,4,.. and 1,3,5,..
  alignas(32) int64_t round_even[8], round_odd[8];  // 2^(t-1)
  alignas(32) int32_t shift_high[16];               // t - 32 (fast path only)
  bool fast;                                        // every column has t >= 32
};

static inline void column_params(const QGemmCall& c, int64_t j0, int64_t cols, ColumnParams* p) {
  p->fast = true;
  for (int j = 0; j < 16; ++j) {
    const int64_t col = j0 + (j < cols ? j : cols - 1);
    p->offset[j] = static_cast<int32_t>(detail::column_offset(c, col, c.za));
    if (!c.c_u8) continue;
    const int64_t q = c.rq->per_channel ? col : 0;
    const int t = 31 + c.rq->shift[q];
    p->m0[j] = c.rq->multiplier[q];
    // vector h covers columns 8h..8h+7; its even 64-bit lanes are columns 8h + 0, 2, 4, 6
    int64_t* shift = j % 2 ? p->shift_odd : p->shift_even;
    int64_t* round = j % 2 ? p->round_odd : p->round_even;
    shift[(j / 8) * 4 + (j % 8) / 2] = t;
    round[(j / 8) * 4 + (j % 8) / 2] = int64_t{1} << (t - 1);
    p->shift_high[j] = t - 32;
    p->fast = p->fast && t >= 32;
  }
}

// floor((p + round) / 2^t) per 64-bit lane, clamped to [lo, hi] (see the file comment).
static inline __m256i round_shift_clamp(__m256i p, __m256i round, __m256i t, __m256i lo, __m256i hi) {
  const __m256i x = _mm256_add_epi64(p, round);
  const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
  __m256i y = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(x, sign), t), sign);
  y = _mm256_blendv_epi8(y, lo, _mm256_cmpgt_epi64(lo, y));
  return _mm256_blendv_epi8(y, hi, _mm256_cmpgt_epi64(y, hi));
}

// 8 requantized columns (8h .. 8h + 7 of the panel) as int32 lanes in [qmin, qmax]. lo/hi are
// the clamp bounds minus out_zp as int64 lanes, lo32/hi32 the bounds as int32 lanes.
static inline __m256i requantize8(__m256i v, const ColumnParams& p, int h, __m256i lo, __m256i hi,
                                  __m256i lo32, __m256i hi32, __m256i out_zp) {
  auto ld = [](const void* at) { return _mm256_load_si256(static_cast<const __m256i*>(at)); };
  const __m256i m0 = ld(p.m0 + 8 * h);
  // vpmuldq reads the low int32 of each 64-bit lane: columns 0,2,4,6 directly, 1,3,5,7 after >> 32
  const __m256i even = _mm256_mul_epi32(v, m0);
  const __m256i odd = _mm256_mul_epi32(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(m0, 32));
  if (p.fast) {
    // high int32 halves of x = p + round: even columns' moved down, odd columns' already in place
    const __m256i xe = _mm256_add_epi64(even, ld(p.round_even + 4 * h));
    const __m256i xo = _mm256_add_epi64(odd, ld(p.round_odd + 4 * h));
    const __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(xe, 32), xo, 0xAA);
    const __m256i y = _mm256_add_epi32(_mm256_srav_epi32(high, ld(p.shift_high + 8 * h)), out_zp);
    return _mm256_min_epi32(_mm256_max_epi32(y, lo32), hi32);
  }
  const __m256i ye = round_shift_clamp(even, ld(p.round_even + 4 * h), ld(p.shift_even + 4 * h), lo, hi);
  const __m256i yo = round_shift_clamp(odd, ld(p.round_odd + 4 * h), ld(p.shift_odd + 4 * h), lo, hi);
  // the clamped values fit int32: take the low halves, odd columns moved into the upper halves
  return _mm256_add_epi32(_mm256_blend_epi32(ye, _mm256_slli_epi64(yo, 32), 0xAA), out_zp);
}

// Writes rows x cols outputs at C[i0.., j0..] from tile (rows of 16 int32 accumulators).
static inline void store_tile(const QGemmCall& c, const int32_t* tile, int64_t i0, int64_t j0,
                              int64_t rows, int64_t cols, const ColumnParams& p) {
  auto ld = [](const void* at) { return _mm256_load_si256(static_cast<const __m256i*>(at)); };
  const __m256i off0 = ld(p.offset), off1 = ld(p.offset + 8);
  if (c.c_s32) {
    for (int64_t r = 0; r < rows; ++r) {
      alignas(32) int32_t out[16];
      int32_t* dst = c.c_s32 + (i0 + r) * c.ldc + j0;
      int32_t* to = cols == 16 ? dst : out;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(to), _mm256_add_epi32(ld(tile + 16 * r), off0));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + 8), _mm256_add_epi32(ld(tile + 16 * r + 8), off1));
      if (cols != 16) std::memcpy(dst, out, static_cast<size_t>(cols) * sizeof(int32_t));
    }
    return;
  }
  const Requantization& rq = *c.rq;
  const __m256i lo = _mm256_set1_epi64x(rq.qmin - rq.out_zero_point);
  const __m256i hi = _mm256_set1_epi64x(rq.qmax - rq.out_zero_point);
  const __m256i lo32 = _mm256_set1_epi32(rq.qmin), hi32 = _mm256_set1_epi32(rq.qmax);
  const __m256i zp = _mm256_set1_epi32(rq.out_zero_point);
  for (int64_t r = 0; r < rows; ++r) {
    const __m256i y0 = requantize8(_mm256_add_epi32(ld(tile + 16 * r), off0), p, 0, lo, hi, lo32, hi32, zp);
    const __m256i y1 = requantize8(_mm256_add_epi32(ld(tile + 16 * r + 8), off1), p, 1, lo, hi, lo32, hi32, zp);
    // values are in [0, 255], so the saturating packs are plain narrowing here
    const __m128i w0 = _mm_packs_epi32(_mm256_castsi256_si128(y0), _mm256_extracti128_si256(y0, 1));
    const __m128i w1 = _mm_packs_epi32(_mm256_castsi256_si128(y1), _mm256_extracti128_si256(y1, 1));
    const __m128i bytes = _mm_packus_epi16(w0, w1);
    uint8_t* dst = c.c_u8 + (i0 + r) * c.ldc + j0;
    if (cols == 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
    } else {
      alignas(16) uint8_t out[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(out), bytes);
      std::memcpy(dst, out, static_cast<size_t>(cols));
    }
  }
}

// The narrow-panel version of store_tile: tile rows of 8 int32 accumulators (columns 0-7 of the
// panel), cols <= 8 of them written.
static inline void store_tile8(const QGemmCall& c, const int32_t* tile, int64_t i0, int64_t j0,
                               int64_t rows, int64_t cols, const ColumnParams& p) {
  auto ld = [](const void* at) { return _mm256_load_si256(static_cast<const __m256i*>(at)); };
  const __m256i off = ld(p.offset);
  if (c.c_s32) {
    // lanes below cols: all ones (maskstore writes only those, never touching the rest)
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(cols)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int64_t r = 0; r < rows; ++r)
      _mm256_maskstore_epi32(c.c_s32 + (i0 + r) * c.ldc + j0, mask, _mm256_add_epi32(ld(tile + 8 * r), off));
    return;
  }
  const Requantization& rq = *c.rq;
  const __m256i lo = _mm256_set1_epi64x(rq.qmin - rq.out_zero_point);
  const __m256i hi = _mm256_set1_epi64x(rq.qmax - rq.out_zero_point);
  const __m256i lo32 = _mm256_set1_epi32(rq.qmin), hi32 = _mm256_set1_epi32(rq.qmax);
  const __m256i zp = _mm256_set1_epi32(rq.out_zero_point);
  for (int64_t r = 0; r < rows; ++r) {
    const __m256i y = requantize8(_mm256_add_epi32(ld(tile + 8 * r), off), p, 0, lo, hi, lo32, hi32, zp);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
    const __m128i bytes = _mm_packus_epi16(w, w);  // values in [0, 255]: plain narrowing
    uint8_t* dst = c.c_u8 + (i0 + r) * c.ldc + j0;
    if (cols == 8) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), bytes);
      continue;
    }
    // cols < 8 bytes as 4 + 2 + 1 (a memcpy of a variable length compiled to a byte loop that
    // took 11% of LeNet conv1)
    uint64_t v = static_cast<uint64_t>(_mm_cvtsi128_si64(bytes));
    if (cols & 4) {
      const uint32_t w4 = static_cast<uint32_t>(v);
      std::memcpy(dst, &w4, 4);
      dst += 4, v >>= 32;
    }
    if (cols & 2) {
      const uint16_t w2 = static_cast<uint16_t>(v);
      std::memcpy(dst, &w2, 2);
      dst += 2, v >>= 16;
    }
    if (cols & 1) *dst = static_cast<uint8_t>(v);
  }
}

}  // namespace qgrad::quant::avx2
