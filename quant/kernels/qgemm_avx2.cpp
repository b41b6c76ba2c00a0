// qgemm_u8s8s32_avx2: the u8 x s8 -> s32 GEMM with vpmaddwd on int16-widened operands
// (compiled with -mavx2).
//
// Why int16 and not vpmaddubsw. vpmaddubsw multiplies u8 by s8 and adds adjacent pairs into int16
// WITH SATURATION (255 * (-128) * 2 = -65280 does not fit), so an exact kernel built on it has to
// split an operand (the previous rung, avx2_nibble, stores weights as nibbles, b = 16 hi + lo) and
// then spends vpmaddubsw + vpmaddwd = two multiply uops per 16 products. Widening both operands
// to int16 and using vpmaddwd alone (int16 x int16, adjacent pairs summed into int32:
// |a0 b0 + a1 b1| <= 65280, no saturation possible) is exact with ONE multiply uop per 16
// products, the rate of the unsplit (inexact) vpmaddubsw + vpmaddwd pair that defines the int8
// peak. It pays one vpaddd per 16 products instead of one per 32, and the measured vpmaddwd +
// vpaddd peak on Zen 3 is ~85% of the int8 peak (bench_kernels prints both; most likely the
// extra adds take issue slots on the multiply ports), so that is this route's ceiling; the
// kernel reaches ~85-89% of it, 72-75% of the int8 peak, against ~42% for the nibble split
// (docs/kernel_ladder.md). Splitting the weights into two halves |b1|, |b2| <= 64 instead also
// keeps vpmaddubsw exact but costs two multiplies per 16 products again, like the nibbles.
// Weights are widened once, at pack time; activations when a block of rows is packed (O(m k)
// work against O(m k n) multiply-adds).
//
// Micro-kernel: 6 rows x 16 columns = 12 ymm int32 accumulators + 2 B vectors + 1 broadcast + 1
// product (all 16 ymm registers); per k-pair: 2 loads of B, 6 broadcast A words (a0 | a1 << 16),
// 12 vpmaddwd + 12 vpaddd. Loop nest (GotoBLAS/BLIS style), per task of kMc rows x some panels:
//   pack A rows -> int16 (each row k contiguous values, zero padded)
//   for each 16-column panel of B:
//     for each k-block (<= kKc, equal):   the B sub-panel (kKc x 16 int16 = 8 KiB) stays in L1
//       for each 6-row micro-tile:        its A (6 x kKc int16 = 3 KiB) streams from L2
//         accumulate into the tile; after the last k-block, the AVX2 epilogue writes C
// A last panel with at most 8 real columns (n = 6 in LeNet conv1) runs a 12x8 micro-kernel on
// the first half of the same packed panel instead (see micro_12x8), so A blocks are padded with
// zero rows to a multiple of 12.
// Ragged m: the packed A block has zero rows past m (computed, never stored); ragged n: the
// packed panel is zero past n (computed, never stored); ragged k: A and B are zero past k.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/parallel.h"
#include "quant/kernels/cpu_features.h"
#include "quant/kernels/epilogue_avx2.h"
#include "quant/kernels/qgemm_tile.h"

namespace qgrad::quant {

namespace {

constexpr int kMr = 6, kNr = 16;
constexpr int64_t kKc = 256;  // k per block, even (whole k-pairs)
constexpr int64_t kMc = 72;   // rows per task, a multiple of kMr
constexpr int kPairBytes = 4;  // one column's k-pair: two int16
constexpr int64_t kPanelPairBytes = kNr * kPairBytes;

// B [k, n] -> panels of 16 columns; k-pair g of column c is int16 (b[2g][c], b[2g + 1][c]), so
// 32 bytes hold 8 columns' pairs, matching the int32 lanes vpmaddwd produces.
void pack_avx2(const int8_t* b, int64_t ldb, int64_t k, int64_t n, int8_t* dst) {
  detail::pack_panels(b, ldb, k, n, kNr, 2, kPairBytes, dst, [](const int8_t* v, int8_t* out) {
    const int16_t pair[2] = {v[0], v[1]};
    std::memcpy(out, pair, sizeof pair);
  });
}

// rows_padded rows of A, widened to int16, row r at dst + r * kp; zeros past k and past `rows`.
// `readable` = how many bytes of A can be read from a (to the end of A's last row).
void pack_a_block(const uint8_t* a, int64_t lda, int64_t rows, int64_t rows_padded, int64_t k, int64_t kp,
                  int64_t readable, int16_t* dst) {
  const __m256i lane = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int64_t r = 0; r < rows_padded; ++r) {
    int16_t* d = dst + r * kp;
    int64_t p = 0;
    if (r < rows) {
      const uint8_t* s = a + r * lda;
      for (; p + 16 <= k; p += 16)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + p),
                            _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + p))));
      // The last k % 16 values as one vector (kp - p >= 16, kp being a multiple of 16), lanes past
      // k zeroed, when 16 bytes can be read at s + p without leaving A (every row but the last
      // rows of A; the bytes past k belong to the row's gap or the next row); else one by one.
      // (A byte loop here and a copy through a 16-byte buffer, which stalls on store
      // forwarding, cost 11% and 40% of LeNet conv1, k = 25.)
      if (p < k && readable - r * lda - p >= 16) {
        const __m256i keep = _mm256_cmpgt_epi16(_mm256_set1_epi16(static_cast<int16_t>(k - p)), lane);
        const __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + p)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + p), _mm256_and_si256(v, keep));
        p += 16;
      }
      for (; p < k; ++p) d[p] = s[p];
    }
    if (p < kp) std::memset(d + p, 0, static_cast<size_t>(kp - p) * sizeof(int16_t));
  }
}

// The micro-kernel's loop is inline assembly (AT&T syntax), for two measured reasons.
// 1. With intrinsics GCC 12 spilled accumulators to the stack inside the loop or, with an empty
//    asm pinning each row's accumulators to registers, added a register copy per row.
// 2. The speed of this loop depends on where it sits relative to 64-byte boundaries (Zen 3
//    delivers it from the op cache or not by 64-byte windows): the same object code ran at
//    ~150 GOP/s in one executable and ~141 in another (1024x784x256), and unrelated edits to the
//    loop nest moved it by as much. Here the loop is 64-byte aligned (.p2align 6) in every
//    executable: ~146-148 GOP/s in bench_kernels, ~149 in a small test program.
// Registers: the 12 accumulators are operands; ymm12/ymm13 = the two B vectors of a k-pair,
// ymm14 = the broadcast A word, ymm15 = a product; r8 = B, r9 / r10 = A rows 0 and 3, r11 = loop
// count (fixed scratch registers declared clobbered: an in-out operand counts twice against
// GCC's limit of 30 operands and the accumulators already take 24).

// One row, one k-pair: broadcast the row's (a0, a1) int16 word, multiply it into both B vectors,
// add the two products into the row's two accumulators.
#define QGEMM_AVX2_ROW(addr, lo, hi)             \
  "vpbroadcastd " addr ", %%ymm14\n\t"           \
  "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"       \
  "vpaddd %%ymm15, %[" lo "], %[" lo "]\n\t"     \
  "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\t"       \
  "vpaddd %%ymm14, %[" hi "], %[" hi "]\n\t"
// One k-pair for all six rows (rows 0-2 at r9 + {0, 1, 2} row_bytes, rows 3-5 at r10 + ...).
#define QGEMM_AVX2_PAIR                                     \
  "vmovdqu (%%r8), %%ymm12\n\t"                             \
  "vmovdqu 32(%%r8), %%ymm13\n\t"                           \
  QGEMM_AVX2_ROW("(%%r9)", "c00", "c01")                    \
  QGEMM_AVX2_ROW("(%%r9,%[row_bytes],1)", "c10", "c11")     \
  QGEMM_AVX2_ROW("(%%r9,%[row_bytes],2)", "c20", "c21")     \
  QGEMM_AVX2_ROW("(%%r10)", "c30", "c31")                   \
  QGEMM_AVX2_ROW("(%%r10,%[row_bytes],1)", "c40", "c41")    \
  QGEMM_AVX2_ROW("(%%r10,%[row_bytes],2)", "c50", "c51")

// tile[6][16] += sum over `pairs` k-pairs of A[r][2g..2g+1] . B[2g..2g+1][c]   (exact, int32)
// Per k-pair, one loop iteration: 2 loads of B, 6 broadcasts, 12 vpmaddwd, 12 vpaddd, and 5
// instructions of loop control. (Unrolled to two k-pairs per iteration it measured ~2% slower.)
void micro_6x16(const int16_t* a, int64_t kp, const int8_t* b, int64_t pairs, int32_t* tile) {
  auto ld = [&](int r, int h) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(tile + r * kNr + 8 * h)); };
  __m256i c00 = ld(0, 0), c01 = ld(0, 1), c10 = ld(1, 0), c11 = ld(1, 1), c20 = ld(2, 0), c21 = ld(2, 1);
  __m256i c30 = ld(3, 0), c31 = ld(3, 1), c40 = ld(4, 0), c41 = ld(4, 1), c50 = ld(5, 0), c51 = ld(5, 1);
  const int64_t row_bytes = kp * static_cast<int64_t>(sizeof(int16_t));
  __asm__(
      "mov %[b], %%r8\n\t"
      "mov %[a], %%r9\n\t"
      "lea (%[a],%[row_bytes],2), %%r10\n\t"
      "add %[row_bytes], %%r10\n\t"
      "mov %[pairs], %%r11\n\t"
      "test %%r11, %%r11\n\t"
      "jz 2f\n\t"
      ".p2align 6\n"
      "1:\n\t"
      QGEMM_AVX2_PAIR
      "add $64, %%r8\n\t"
      "add $4, %%r9\n\t"
      "add $4, %%r10\n\t"
      "dec %%r11\n\t"
      "jnz 1b\n"
      "2:\n\t"
      : [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11), [c20] "+x"(c20), [c21] "+x"(c21),
        [c30] "+x"(c30), [c31] "+x"(c31), [c40] "+x"(c40), [c41] "+x"(c41), [c50] "+x"(c50), [c51] "+x"(c51)
      : [b] "r"(b), [a] "r"(a), [row_bytes] "r"(row_bytes), [pairs] "r"(pairs)
      : "r8", "r9", "r10", "r11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
  auto st = [&](int r, int h, __m256i v) { _mm256_store_si256(reinterpret_cast<__m256i*>(tile + r * kNr + 8 * h), v); };
  st(0, 0, c00), st(0, 1, c01), st(1, 0, c10), st(1, 1, c11), st(2, 0, c20), st(2, 1, c21);
  st(3, 0, c30), st(3, 1, c31), st(4, 0, c40), st(4, 1, c41), st(5, 0, c50), st(5, 1, c51);
}
#undef QGEMM_AVX2_PAIR
#undef QGEMM_AVX2_ROW

// Narrow panels (real width <= 8, only ever a last panel: LeNet conv1 has n = 6): a 6x16 tile
// would spend 10/16 of its multiplies on zero columns, so such a panel gets its own micro-kernel,
// 12 rows x 8 columns = 12 ymm int32 accumulators + 1 B vector + 1 broadcast/product register.
// It reads columns 0-7 of the unchanged 16-column packed layout (the first 32 bytes of each
// 64-byte k-pair row), so packing and the registry entry do not change. Per k-pair: 1 load of B,
// 12 broadcasts, 12 vpmaddwd, 12 vpaddd: as many multiplies as 6x16 for twice the rows, so on
// a panel of <= 8 real columns half the multiply work per output row. Same asm/alignment
// reasons as micro_6x16; its accumulators start at zero in registers (no tile memset).
// Registers: accumulators are operands; ymm12 = B, ymm13 = broadcast A word and then its
// product (renamed, so the 12 chains stay independent); r8 = B, r9 / r10 / r11 / r12 = A rows
// 0, 3, 6, 9, r13 = loop count.
#define QGEMM_AVX2_ROW8(addr, acc)            \
  "vpbroadcastd " addr ", %%ymm13\n\t"        \
  "vpmaddwd %%ymm12, %%ymm13, %%ymm13\n\t"    \
  "vpaddd %%ymm13, %[" acc "], %[" acc "]\n\t"
#define QGEMM_AVX2_ROWS3(base, a0, a1, a2)               \
  QGEMM_AVX2_ROW8("(" base ")", a0)                      \
  QGEMM_AVX2_ROW8("(" base ",%[row_bytes],1)", a1)       \
  QGEMM_AVX2_ROW8("(" base ",%[row_bytes],2)", a2)

constexpr int kMrNarrow = 12, kNrNarrow = 8;  // kMc is a multiple of kMrNarrow

// tile[12][8] (= or +=, see `accumulate`) sum over `pairs` k-pairs of A[r][2g..2g+1] . B[2g..2g+1][c]
void micro_12x8(const int16_t* a, int64_t kp, const int8_t* b, int64_t pairs, bool accumulate, int32_t* tile) {
  __m256i c[kMrNarrow];
  for (int r = 0; r < kMrNarrow; ++r)
    c[r] = accumulate ? _mm256_load_si256(reinterpret_cast<const __m256i*>(tile + r * kNrNarrow))
                      : _mm256_setzero_si256();
  const int64_t row_bytes = kp * static_cast<int64_t>(sizeof(int16_t));
  __asm__(
      "mov %[b], %%r8\n\t"
      "mov %[a], %%r9\n\t"
      "lea (%[a],%[row_bytes],2), %%r10\n\t"
      "add %[row_bytes], %%r10\n\t"
      "lea (%%r10,%[row_bytes],2), %%r11\n\t"
      "add %[row_bytes], %%r11\n\t"
      "lea (%%r11,%[row_bytes],2), %%r12\n\t"
      "add %[row_bytes], %%r12\n\t"
      "mov %[pairs], %%r13\n\t"
      "test %%r13, %%r13\n\t"
      "jz 2f\n\t"
      ".p2align 6\n"
      "1:\n\t"
      "vmovdqu (%%r8), %%ymm12\n\t"
      QGEMM_AVX2_ROWS3("%%r9", "c0", "c1", "c2")
      QGEMM_AVX2_ROWS3("%%r10", "c3", "c4", "c5")
      QGEMM_AVX2_ROWS3("%%r11", "c6", "c7", "c8")
      QGEMM_AVX2_ROWS3("%%r12", "c9", "c10", "c11")
      "add $64, %%r8\n\t"
      "add $4, %%r9\n\t"
      "add $4, %%r10\n\t"
      "add $4, %%r11\n\t"
      "add $4, %%r12\n\t"
      "dec %%r13\n\t"
      "jnz 1b\n"
      "2:\n\t"
      : [c0] "+x"(c[0]), [c1] "+x"(c[1]), [c2] "+x"(c[2]), [c3] "+x"(c[3]), [c4] "+x"(c[4]), [c5] "+x"(c[5]),
        [c6] "+x"(c[6]), [c7] "+x"(c[7]), [c8] "+x"(c[8]), [c9] "+x"(c[9]), [c10] "+x"(c[10]), [c11] "+x"(c[11])
      : [b] "r"(b), [a] "r"(a), [row_bytes] "r"(row_bytes), [pairs] "r"(pairs)
      : "r8", "r9", "r10", "r11", "r12", "r13", "xmm12", "xmm13", "cc", "memory");
  for (int r = 0; r < kMrNarrow; ++r)
    _mm256_store_si256(reinterpret_cast<__m256i*>(tile + r * kNrNarrow), c[r]);
}
#undef QGEMM_AVX2_ROWS3
#undef QGEMM_AVX2_ROW8

// A narrow panel (cols <= 8 real columns at j0) of one task with the 12x8 micro-kernel. Not
// inlined into run_task: inlined, the wide path around micro_6x16 measured ~2% slower
// (256^3, 64x784x256), the same kind of code-placement effect as described above.
__attribute__((noinline)) void run_narrow_panel(const QGemmCall& c, const int16_t* a_packed, int64_t kp, int64_t i0,
                                                int64_t rows, int64_t j0, int64_t cols, const int8_t* panel,
                                                int64_t block_pairs, int32_t* tiles) {
  // a local: the compiler then knows the uint8 stores of the epilogue leave it unchanged (a
  // reference to the caller's copy was reloaded after every row: ~25% slower on LeNet conv1)
  avx2::ColumnParams params;
  avx2::column_params(c, j0, cols, &params);
  const int64_t pairs_total = detail::div_up(c.k, 2);
  const int64_t narrow_tiles = detail::div_up(rows, kMrNarrow);
  for (int64_t g0 = 0; g0 < pairs_total; g0 += block_pairs) {
    const int64_t pairs = pairs_total - g0 < block_pairs ? pairs_total - g0 : block_pairs;
    const bool last = g0 + pairs == pairs_total;
    for (int64_t t = 0; t < narrow_tiles; ++t) {
      int32_t* tile = tiles + t * kMrNarrow * kNrNarrow;
      micro_12x8(a_packed + t * kMrNarrow * kp + 2 * g0, kp, panel + g0 * kPanelPairBytes, pairs, g0 != 0, tile);
      if (last) {
        const int64_t r0 = t * kMrNarrow, n_rows = rows - r0 < kMrNarrow ? rows - r0 : kMrNarrow;
        avx2::store_tile8(c, tile, i0 + r0, j0, n_rows, cols, params);
      }
    }
  }
}

// One task: rows [i0, i0 + rows) x panels [p0, p1), A already packed (kp int16 per row).
void run_task(const QGemmCall& c, const int16_t* a_packed, int64_t kp, int64_t i0, int64_t rows, int64_t p0,
              int64_t p1, int32_t* tiles) {
  const int64_t pairs_total = detail::div_up(c.k, 2);
  const int64_t panel_bytes = pairs_total * kPanelPairBytes;
  const int64_t micro_tiles = detail::div_up(rows, kMr);
  // k-blocks of equal size (k = 784: 4 x 98 pairs, not 3 x 128 + 8: a short last block is all overhead)
  const int64_t kblocks = detail::div_up(pairs_total, kKc / 2);
  const int64_t block_pairs = detail::div_up(pairs_total, kblocks);
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t j0 = p * kNr, cols = c.n - j0 < kNr ? c.n - j0 : kNr;
    const int8_t* panel = c.packed + p * panel_bytes;
    if (cols <= kNrNarrow) {
      run_narrow_panel(c, a_packed, kp, i0, rows, j0, cols, panel, block_pairs, tiles);
      continue;
    }
    avx2::ColumnParams params;
    avx2::column_params(c, j0, cols, &params);
    for (int64_t g0 = 0; g0 < pairs_total; g0 += block_pairs) {
      const int64_t pairs = pairs_total - g0 < block_pairs ? pairs_total - g0 : block_pairs;
      const bool last = g0 + pairs == pairs_total;
      for (int64_t t = 0; t < micro_tiles; ++t) {
        int32_t* tile = tiles + t * kMr * kNr;
        if (g0 == 0) std::memset(tile, 0, kMr * kNr * sizeof(int32_t));
        micro_6x16(a_packed + t * kMr * kp + 2 * g0, kp, panel + g0 * kPanelPairBytes, pairs, tile);
        if (last) {
          const int64_t r0 = t * kMr, n_rows = rows - r0 < kMr ? rows - r0 : kMr;
          avx2::store_tile(c, tile, i0 + r0, j0, n_rows, cols, params);
        }
      }
    }
  }
}

// A thread's packed copy of one row block of A, kept across its tasks.
struct PackedA {
  std::unique_ptr<int16_t, void (*)(void*)> data{nullptr, std::free};
  int64_t block = -1;  // the row block it holds
};

// Tasks as detail::task_grid cuts them (kMc-row blocks, split by panels when there are too few
// for the threads). A thread packs a row block's A once and reuses it for its next task when
// that has the same rows. Dynamic scheduling: on a shared machine a descheduled thread then
// delays one task, not a fixed half of the work.
void qgemm_u8s8s32_avx2(const QGemmCall& c) {
  const int64_t kp = detail::div_up(c.k, 16) * 16;
  const detail::TaskGrid grid = detail::task_grid(c, kMc, kNr);
  const int64_t tasks = grid.tasks();
  // In parallel, every task is a chunk of the thread pool (core/parallel.h), handed out as
  // threads come free; each slot (a thread taking part) keeps its own packed A block.
  const int64_t chunks = grid.parallel && tasks > 1 ? tasks : 1;
  std::vector<PackedA> slots(static_cast<size_t>(parallel_slots(chunks)));
  parallel_chunks(chunks, [&](int64_t chunk, int slot) {
    PackedA& packed = slots[static_cast<size_t>(slot)];
    if (!packed.data) {
      const size_t a_bytes = static_cast<size_t>(kMc * kp) * sizeof(int16_t);
      packed.data.reset(static_cast<int16_t*>(std::aligned_alloc(64, (a_bytes + 63) / 64 * 64)));
      if (!packed.data) std::abort();  // out of memory (at most 72 rows x 65536 x 2 bytes = 9.4 MB)
    }
    alignas(64) int32_t tiles[kMc * kNr];
    for (int64_t task = tasks * chunk / chunks; task < tasks * (chunk + 1) / chunks; ++task) {
      const int64_t mb = grid.row_block(task);
      const int64_t i0 = mb * kMc, rows = c.m - i0 < kMc ? c.m - i0 : kMc;
      if (mb != packed.block) {
        // zero rows up to a multiple of 12, so that both micro-kernels (6 and 12 rows) read whole tiles
        pack_a_block(c.a + i0 * c.lda, c.lda, rows, detail::div_up(rows, kMrNarrow) * kMrNarrow, c.k, kp,
                     (c.m - 1 - i0) * c.lda + c.k, packed.data.get());
        packed.block = mb;
      }
      int64_t p0, p1;
      grid.panel_range(task, &p0, &p1);
      run_task(c, packed.data.get(), kp, i0, rows, p0, p1, tiles);
    }
  });
}

}  // namespace

extern const QGemmKernel kQGemmAvx2;
const QGemmKernel kQGemmAvx2 = {"avx2", kNr, 2, kPairBytes, pack_avx2, qgemm_u8s8s32_avx2, detail::cpu_has_avx2};

}  // namespace qgrad::quant
#endif
