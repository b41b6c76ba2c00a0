// The qgemm output stage 16 columns at a time, written with GCC vector extensions (vectors of
// 16 int32 / 8 int64) rather than one ISA's intrinsics. The avx512vnni translation unit compiles
// it to zmm instructions: 16 lanes with a 64-bit multiply (vpmuldq), arithmetic shift (vpsravq)
// and min/max (vpmaxsq/vpminsq), none of which AVX2 has in 64 bits, which is why
// epilogue_avx2.h needs its sign tricks. The emulated build of that kernel compiles the same
// source without ISA flags, so the test that runs it against ref on any CPU checks this code too
// (all but the three AVX-512 spellings below). Bit for bit requantize.h:
//   v = acc - za * colsum[j] + bias[j]                                  (int32, wrapping)
//   y = clamp(out_zp + ((v * M0[j] + 2^(t-1)) >> t), qmin, qmax),   t = 31 + shift[j] in [1, 62]
// computed on the exact 64-bit product (|v * M0| < 2^62) with an arithmetic shift (= floor).
// Everything is static: each including translation unit keeps its own copy for its own ISA.
#pragma once
#include <cstdint>
#include <cstring>

#include "quant/kernels/qgemm.h"
#include "quant/kernels/qgemm_tile.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace qgrad::quant::vec16 {

typedef int32_t I32x16 __attribute__((vector_size(64)));
typedef int64_t I64x8 __attribute__((vector_size(64)));
typedef uint8_t U8x16 __attribute__((vector_size(16)));

// The per-column constants of 16 columns, padded past n (padded columns are computed, never
// stored). lo = columns 0-7, hi = 8-15.
struct ColumnParams {
  I32x16 offset;        // bias[j] - za * colsum[j]   (mod 2^32)
  I64x8 m0[2];          // the Q31 multiplier
  I64x8 round[2];       // 2^(t-1)
  I64x8 shift[2];       // t
};

static inline void column_params(const QGemmCall& c, int64_t j0, int64_t cols, ColumnParams* p) {
  *p = ColumnParams{};
  for (int j = 0; j < 16; ++j) {
    const int64_t col = j0 + (j < cols ? j : cols - 1);
    p->offset[j] = static_cast<int32_t>(detail::column_offset(c, col, c.za));
    if (!c.c_u8) continue;
    const int64_t q = c.rq->per_channel ? col : 0;
    const int t = 31 + c.rq->shift[q];
    p->m0[j / 8][j % 8] = c.rq->multiplier[q];
    p->round[j / 8][j % 8] = int64_t{1} << (t - 1);
    p->shift[j / 8][j % 8] = t;
  }
}

// Three steps that GCC spells badly from the generic code when it targets AVX-512 (an element
// at a time for the narrowing, three vpmuludq for the multiply, since it does not know the lanes
// hold sign-extended int32), so under __AVX512F__ they are the one instruction that does each.
// Vectors go by pointer: by value, GCC warns that the ABI for 64-byte vector arguments depends on
// -mavx512f, although nothing here crosses a translation unit.
// (GCC 12 reports the intrinsics' internal "undefined" operand as maybe-uninitialized: a known
// false positive, silenced for these three helpers only; clang has no such warning.)
#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// lanes 0-7 and 8-15 of v, sign-extended to int64
static inline void widen(const I32x16& v, I64x8* lo, I64x8* hi) {
#if defined(__AVX512F__)
  const __m512i x = reinterpret_cast<__m512i>(v);
  *lo = reinterpret_cast<I64x8>(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(x)));
  *hi = reinterpret_cast<I64x8>(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(x, 1)));
#else
  *lo = __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7), I64x8);
  *hi = __builtin_convertvector(__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15), I64x8);
#endif
}
// a * b for lanes holding sign-extended int32 values (vpmuldq multiplies the low halves, signed)
static inline void mul_i32(const I64x8& a, const I64x8& b, I64x8* out) {
#if defined(__AVX512F__)
  *out = reinterpret_cast<I64x8>(_mm512_mul_epi32(reinterpret_cast<__m512i>(a), reinterpret_cast<__m512i>(b)));
#else
  *out = a * b;
#endif
}
// the 16 lanes of lo, hi (each in [0, 255]) as bytes; truncation is exact for them
static inline void narrow(const I64x8& lo, const I64x8& hi, U8x16* out) {
#if defined(__AVX512F__)
  const __m128i b0 = _mm512_cvtepi64_epi8(reinterpret_cast<__m512i>(lo));  // vpmovqb: 8 bytes, rest 0
  const __m128i b1 = _mm512_cvtepi64_epi8(reinterpret_cast<__m512i>(hi));
  *out = reinterpret_cast<U8x16>(_mm_unpacklo_epi64(b0, b1));
#else
  *out = __builtin_convertvector(
      __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), U8x16);
#endif
}
#pragma GCC diagnostic pop

// y = out_zp + round(v * M0 / 2^t) for 8 columns (h = 0: columns 0-7, 1: 8-15), clamped to
// [qmin, qmax].
static inline void requantize8(const I64x8& v, const ColumnParams& p, int h, const I64x8& zp, const I64x8& lo,
                               const I64x8& hi, I64x8* y) {
  I64x8 x;
  mul_i32(v, p.m0[h], &x);
  I64x8 r = ((x + p.round[h]) >> p.shift[h]) + zp;
  r = r < lo ? lo : r;
  *y = r > hi ? hi : r;
}

// Copies the first n (< 16) bytes of v to dst as 8 + 4 + 2 + 1 (a variable-length memcpy
// compiles to a byte loop, which cost 11% of LeNet's first conv in the avx2 epilogue).
static inline void store_bytes(uint8_t* dst, const U8x16& v, int64_t n) {
  uint8_t bytes[16];
  std::memcpy(bytes, &v, 16);
  const uint8_t* s = bytes;
  if (n & 8) std::memcpy(dst, s, 8), dst += 8, s += 8;
  if (n & 4) std::memcpy(dst, s, 4), dst += 4, s += 4;
  if (n & 2) std::memcpy(dst, s, 2), dst += 2, s += 2;
  if (n & 1) *dst = *s;
}

// Writes rows x cols (<= 16) outputs at C[i0.., j0..] from tile (rows of 16 int32 accumulators).
static inline void store_tile(const QGemmCall& c, const int32_t* tile, int64_t i0, int64_t j0, int64_t rows,
                              int64_t cols, const ColumnParams& p) {
  if (c.c_s32) {
    for (int64_t r = 0; r < rows; ++r) {
      I32x16 v;
      std::memcpy(&v, tile + 16 * r, 64);
      v += p.offset;
      int32_t* dst = c.c_s32 + (i0 + r) * c.ldc + j0;
      if (cols == 16) {
        std::memcpy(dst, &v, 64);
        continue;
      }
      // 8 + 4 + 2 + 1 values (a variable-length memcpy: a byte loop, slower than the GEMM at k = 25)
      const int32_t* s = reinterpret_cast<const int32_t*>(&v);
      if (cols & 8) std::memcpy(dst, s, 32), dst += 8, s += 8;
      if (cols & 4) std::memcpy(dst, s, 16), dst += 4, s += 4;
      if (cols & 2) std::memcpy(dst, s, 8), dst += 2, s += 2;
      if (cols & 1) *dst = *s;
    }
    return;
  }
  const Requantization& rq = *c.rq;
  const I64x8 zp = I64x8{} + rq.out_zero_point, lo = I64x8{} + rq.qmin, hi = I64x8{} + rq.qmax;
  // at most 8 real columns (LeNet's first conv has 6): the second half is never stored, so it is
  // not computed (that halves the epilogue, which outweighs the k loop there: k = 25)
  const bool half = cols <= 8;
  for (int64_t r = 0; r < rows; ++r) {
    I32x16 v;
    std::memcpy(&v, tile + 16 * r, 64);
    v += p.offset;
    I64x8 v0, v1, y0, y1 = I64x8{};
    widen(v, &v0, &v1);
    requantize8(v0, p, 0, zp, lo, hi, &y0);
    if (!half) requantize8(v1, p, 1, zp, lo, hi, &y1);
    U8x16 bytes;
    narrow(y0, y1, &bytes);
    uint8_t* dst = c.c_u8 + (i0 + r) * c.ldc + j0;
    if (cols == 16)
      std::memcpy(dst, &bytes, 16);
    else
      store_bytes(dst, bytes, cols);
  }
}

}  // namespace qgrad::quant::vec16
