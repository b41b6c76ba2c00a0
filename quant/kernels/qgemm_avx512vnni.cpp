// qgemm_u8s8s32_avx512vnni: the u8 x s8 -> s32 GEMM with vpdpbusd (compiled with -mavx512f
// -mavx512bw -mavx512vnni). vpdpbusd multiplies 4 unsigned activation bytes by 4 signed weight
// bytes and adds the four products straight into an int32 lane, so there is no int16
// intermediate and nothing saturates (the plain form, not vpdpbusds, wraps like ref's int32).
// That is also why activations stay uint8 (the unsigned operand) and weights int8: one
// instruction does 64 exact multiply-adds, against 16 per vpmaddwd in the avx2 rung.
//
// Packed B: panels of 32 columns; for each k-group of 4, column c's 4 bytes are consecutive, so
// one 64-byte load covers 16 columns (bytes 0-63 of a group: columns 0-15, 64-127: 16-31).
// Micro-kernel: 8 rows x 32 columns = 16 zmm int32 accumulators (of 32 registers); per k-group
// 2 loads of B, 8 broadcast A words, 16 vpdpbusd. vpdpbusd has a latency of ~5 cycles and issues
// up to twice a cycle, so ~10 independent accumulators keep it busy; 16 leave room.
// A panel with at most 16 real columns (LeNet: n = 6 and 16) runs a 16x16 micro-kernel on the
// first half of the same packed panel instead: as many vpdpbusd per k-group for twice the rows.
// Loop nest (as in the avx2 rung), per task of kMc rows x some panels:
//   A rows in place (the last block: copied with k padded to a multiple of 4, rows to 16)
//   for each 32-column panel of B:
//     for each k-block (<= kKcGroups groups, equal): B sub-panel (128 x 128 B = 16 KiB) in L1
//       for each 8-row micro-tile: accumulate; after the last k-block the epilogue writes C
// The epilogue (epilogue_vec16.h) requantizes 16 columns per step in zmm registers.
// Ragged m: zero rows in the last A block (computed, never stored); ragged n: the packed panel
// is zero past n (computed, never stored); ragged k: B is zero past k, so whatever A holds there
// (zeros in the copied block, the row's gap or next row in place) adds nothing.
//
// Compiled with QGRAD_VNNI_EMULATED, the two micro-kernels are plain C++ that computes what the
// assembly does, so that a test (tests/kernel/vnni_emulated_kernel.cpp) can run the packing,
// blocking, tails and epilogue calls of this file against ref on a CPU without AVX-512, such as
// CI's; the registry entry then gets another name and never dispatches. The assembly itself is
// checked against ref only on a CPU with AVX-512 VNNI.
#if defined(__x86_64__)

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/parallel.h"
#include "quant/kernels/cpu_features.h"
#include "quant/kernels/epilogue_vec16.h"
#include "quant/kernels/qgemm_tile.h"

namespace qgrad::quant {

namespace {

constexpr int kKg = 4;                      // k per group (one vpdpbusd lane)
constexpr int kNr = 32, kMr = 8;            // wide micro-tile
constexpr int kNrNarrow = 16, kMrNarrow = 16;  // narrow micro-tile (first half of a panel)
constexpr int64_t kGroupBytes = kNr * kKg;  // one k-group of a packed panel: 128 bytes
constexpr int64_t kKcGroups = 128;          // k-groups per k-block (512 values of k)
constexpr int64_t kMc = 96;                 // rows per task, a multiple of kMr and kMrNarrow

void pack_avx512vnni(const int8_t* b, int64_t ldb, int64_t k, int64_t n, int8_t* dst) {
  detail::pack_panels(b, ldb, k, n, kNr, kKg, kKg, dst, [](const int8_t* v, int8_t* out) {
    for (int t = 0; t < kKg; ++t) out[t] = v[t];
  });
}

// rows_padded rows of A, row r at dst + r * kp (kp = k rounded up to a multiple of 4); zeros
// past k and past `rows`.
void pack_a_block(const uint8_t* a, int64_t lda, int64_t rows, int64_t rows_padded, int64_t k, int64_t kp,
                  uint8_t* dst) {
  for (int64_t r = 0; r < rows_padded; ++r) {
    uint8_t* d = dst + r * kp;
    const int64_t copied = r < rows ? k : 0;
    if (copied) std::memcpy(d, a + r * lda, static_cast<size_t>(k));
    std::memset(d + copied, 0, static_cast<size_t>(kp - copied));
  }
}

// The two micro-kernels are inline assembly (AT&T syntax), like the avx2 rung's: written with
// the intrinsics, GCC 12 kept each of the 16 row offsets r * kp on the stack and reloaded one
// before every broadcast (an extra load per vpdpbusd). Here a row's word is addressed as base +
// kp * {1, 2, 4, 8} from a few base pointers, so the loop has no loads but B's and the
// broadcasts. Accumulators live in zmm0-zmm15 for the whole call, loaded from or zeroed into the
// tile first and stored back last (16 in-out operands would exceed GCC's 30-operand limit).
// AT&T operand order: `vpdpbusd B, A, acc` is acc += u8(A) . s8(B) per 4-byte group.
// Two k-groups per loop iteration (then one more when the count is odd): half the pointer
// updates and branches per vpdpbusd.
#define QGEMM_VNNI_ZERO16                                                                         \
  "vpxord %%zmm0, %%zmm0, %%zmm0\n\t vpxord %%zmm1, %%zmm1, %%zmm1\n\t"                             \
  "vpxord %%zmm2, %%zmm2, %%zmm2\n\t vpxord %%zmm3, %%zmm3, %%zmm3\n\t"                             \
  "vpxord %%zmm4, %%zmm4, %%zmm4\n\t vpxord %%zmm5, %%zmm5, %%zmm5\n\t"                             \
  "vpxord %%zmm6, %%zmm6, %%zmm6\n\t vpxord %%zmm7, %%zmm7, %%zmm7\n\t"                             \
  "vpxord %%zmm8, %%zmm8, %%zmm8\n\t vpxord %%zmm9, %%zmm9, %%zmm9\n\t"                             \
  "vpxord %%zmm10, %%zmm10, %%zmm10\n\t vpxord %%zmm11, %%zmm11, %%zmm11\n\t"                       \
  "vpxord %%zmm12, %%zmm12, %%zmm12\n\t vpxord %%zmm13, %%zmm13, %%zmm13\n\t"                       \
  "vpxord %%zmm14, %%zmm14, %%zmm14\n\t vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
// zmm0..zmm15 <-> tile[0..15][16] (op = vmovdqu64 with the operands in load or store order)
#define QGEMM_VNNI_LOAD16                                                                         \
  "vmovdqu64 0(%[tile]), %%zmm0\n\t vmovdqu64 64(%[tile]), %%zmm1\n\t"                              \
  "vmovdqu64 128(%[tile]), %%zmm2\n\t vmovdqu64 192(%[tile]), %%zmm3\n\t"                           \
  "vmovdqu64 256(%[tile]), %%zmm4\n\t vmovdqu64 320(%[tile]), %%zmm5\n\t"                           \
  "vmovdqu64 384(%[tile]), %%zmm6\n\t vmovdqu64 448(%[tile]), %%zmm7\n\t"                           \
  "vmovdqu64 512(%[tile]), %%zmm8\n\t vmovdqu64 576(%[tile]), %%zmm9\n\t"                           \
  "vmovdqu64 640(%[tile]), %%zmm10\n\t vmovdqu64 704(%[tile]), %%zmm11\n\t"                         \
  "vmovdqu64 768(%[tile]), %%zmm12\n\t vmovdqu64 832(%[tile]), %%zmm13\n\t"                         \
  "vmovdqu64 896(%[tile]), %%zmm14\n\t vmovdqu64 960(%[tile]), %%zmm15\n\t"
#define QGEMM_VNNI_STORE16                                                                        \
  "vmovdqu64 %%zmm0, 0(%[tile])\n\t vmovdqu64 %%zmm1, 64(%[tile])\n\t"                              \
  "vmovdqu64 %%zmm2, 128(%[tile])\n\t vmovdqu64 %%zmm3, 192(%[tile])\n\t"                           \
  "vmovdqu64 %%zmm4, 256(%[tile])\n\t vmovdqu64 %%zmm5, 320(%[tile])\n\t"                           \
  "vmovdqu64 %%zmm6, 384(%[tile])\n\t vmovdqu64 %%zmm7, 448(%[tile])\n\t"                           \
  "vmovdqu64 %%zmm8, 512(%[tile])\n\t vmovdqu64 %%zmm9, 576(%[tile])\n\t"                           \
  "vmovdqu64 %%zmm10, 640(%[tile])\n\t vmovdqu64 %%zmm11, 704(%[tile])\n\t"                         \
  "vmovdqu64 %%zmm12, 768(%[tile])\n\t vmovdqu64 %%zmm13, 832(%[tile])\n\t"                         \
  "vmovdqu64 %%zmm14, 896(%[tile])\n\t vmovdqu64 %%zmm15, 960(%[tile])\n\t"
#define QGEMM_VNNI_CLOBBERS                                                                       \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", \
      "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "cc", "memory"

#if !defined(QGRAD_VNNI_EMULATED)
// The whole body of a micro-kernel: accumulators in (loaded, or zeroed when not `accumulate`),
// row bases r8 = row 0, r9 = row 3, r10 = row 6 (plus MORE_BASES), the k loop of GROUP two
// k-groups per iteration (advancing the bases by 8 bytes: ADVANCE for the extra ones), the odd
// last group, accumulators out. r11 = B, rcx = iterations.
#define QGEMM_VNNI_BODY(MORE_BASES, GROUP, ADVANCE)       \
  "test %[acc], %[acc]\n\t"                               \
  "jz 5f\n\t" QGEMM_VNNI_LOAD16 "jmp 6f\n"                 \
  "5:\n\t" QGEMM_VNNI_ZERO16                               \
  "6:\n\t"                                                 \
  "mov %[a], %%r8\n\t"                                     \
  "lea (%[a],%[kp],2), %%r9\n\t"                           \
  "add %[kp], %%r9\n\t"                                    \
  "lea (%%r9,%[kp],2), %%r10\n\t"                          \
  "add %[kp], %%r10\n\t"                                   \
  MORE_BASES                                               \
  "mov %[b], %%r11\n\t"                                    \
  "mov %[groups], %%rcx\n\t"                               \
  "shr $1, %%rcx\n\t"                                      \
  "jz 3f\n\t"                                              \
  ".p2align 6\n"                                           \
  "1:\n\t"                                                 \
  GROUP("0", "0")                                          \
  GROUP("4", "128")                                        \
  "add $8, %%r8\n\t"                                       \
  "add $8, %%r9\n\t"                                       \
  "add $8, %%r10\n\t"                                      \
  ADVANCE                                                  \
  "add $256, %%r11\n\t"                                    \
  "dec %%rcx\n\t"                                          \
  "jnz 1b\n"                                               \
  "3:\n\t"                                                 \
  "test $1, %[groups]\n\t"                                 \
  "jz 4f\n\t"                                              \
  GROUP("0", "0")                                          \
  "4:\n\t" QGEMM_VNNI_STORE16
#define QGEMM_VNNI_OPERANDS \
  [a] "r"(a), [kp] "r"(kp), [b] "r"(b), [groups] "r"(groups), [tile] "r"(tile), [acc] "r"(acc)

// One row of the wide kernel: broadcast its word (at A byte offset `ao` from `base`), two vpdpbusd.
#define QGEMM_VNNI_ROW2(ao, base, lo, hi)                  \
  "vpbroadcastd " ao base ", %%zmm18\n\t"                  \
  "vpdpbusd %%zmm16, %%zmm18, %%zmm" lo "\n\t"             \
  "vpdpbusd %%zmm17, %%zmm18, %%zmm" hi "\n\t"
// One k-group of the 8x32 kernel at A offset ao, B offset bo (rows 0,1,2,4 from r8 = row 0;
// 3,5,7 from r9 = row 3; 6 from r10 = row 6). Accumulators: row r columns 0-15 in zmm<r>,
// 16-31 in zmm<8 + r> (the tile's [half][row][16] layout).
#define QGEMM_VNNI_GROUP_8X32(ao, bo)                          \
  "vmovdqu64 " bo "(%%r11), %%zmm16\n\t"                       \
  "vmovdqu64 " bo "+64(%%r11), %%zmm17\n\t"                    \
  QGEMM_VNNI_ROW2(ao, "(%%r8)", "0", "8")                      \
  QGEMM_VNNI_ROW2(ao, "(%%r8,%[kp],1)", "1", "9")              \
  QGEMM_VNNI_ROW2(ao, "(%%r8,%[kp],2)", "2", "10")             \
  QGEMM_VNNI_ROW2(ao, "(%%r9)", "3", "11")                     \
  QGEMM_VNNI_ROW2(ao, "(%%r8,%[kp],4)", "4", "12")             \
  QGEMM_VNNI_ROW2(ao, "(%%r9,%[kp],2)", "5", "13")             \
  QGEMM_VNNI_ROW2(ao, "(%%r10)", "6", "14")                    \
  QGEMM_VNNI_ROW2(ao, "(%%r9,%[kp],4)", "7", "15")

// tile (= or += when `accumulate`) sum over `groups` k-groups of A[r][4g..4g+3] . B[4g..4g+3][c]
// for 8 rows x 32 columns. Tile layout: [half][row][16], so each half is 8 rows of 16 columns,
// the layout the epilogue reads.
void micro_8x32(const uint8_t* a, int64_t kp, const int8_t* b, int64_t groups, bool accumulate, int32_t* tile) {
  const int64_t acc = accumulate;
  __asm__(QGEMM_VNNI_BODY("", QGEMM_VNNI_GROUP_8X32, "")
          :
          : QGEMM_VNNI_OPERANDS
          : "rcx", "r8", "r9", "r10", "r11", QGEMM_VNNI_CLOBBERS);
}
#undef QGEMM_VNNI_GROUP_8X32
#undef QGEMM_VNNI_ROW2

// One row of the narrow kernel: broadcast, one vpdpbusd into zmm<acc>.
#define QGEMM_VNNI_ROW1(ao, base, acc)                     \
  "vpbroadcastd " ao base ", %%zmm17\n\t"                  \
  "vpdpbusd %%zmm16, %%zmm17, %%zmm" acc "\n\t"
// One k-group of the 16x16 kernel. Row bases: r8 = row 0 (rows 0, 1, 2, 4, 8), r9 = row 3 (3,
// 5, 7), r10 = row 6 (6, 10, 14), r12 = row 9 (9, 13), r13 = row 11 (11, 12, 15).
#define QGEMM_VNNI_GROUP_16X16(ao, bo)                         \
  "vmovdqu64 " bo "(%%r11), %%zmm16\n\t"                       \
  QGEMM_VNNI_ROW1(ao, "(%%r8)", "0")                           \
  QGEMM_VNNI_ROW1(ao, "(%%r8,%[kp],1)", "1")                   \
  QGEMM_VNNI_ROW1(ao, "(%%r8,%[kp],2)", "2")                   \
  QGEMM_VNNI_ROW1(ao, "(%%r9)", "3")                           \
  QGEMM_VNNI_ROW1(ao, "(%%r8,%[kp],4)", "4")                   \
  QGEMM_VNNI_ROW1(ao, "(%%r9,%[kp],2)", "5")                   \
  QGEMM_VNNI_ROW1(ao, "(%%r10)", "6")                          \
  QGEMM_VNNI_ROW1(ao, "(%%r9,%[kp],4)", "7")                   \
  QGEMM_VNNI_ROW1(ao, "(%%r8,%[kp],8)", "8")                   \
  QGEMM_VNNI_ROW1(ao, "(%%r12)", "9")                          \
  QGEMM_VNNI_ROW1(ao, "(%%r10,%[kp],4)", "10")                 \
  QGEMM_VNNI_ROW1(ao, "(%%r13)", "11")                         \
  QGEMM_VNNI_ROW1(ao, "(%%r13,%[kp],1)", "12")                 \
  QGEMM_VNNI_ROW1(ao, "(%%r12,%[kp],4)", "13")                 \
  QGEMM_VNNI_ROW1(ao, "(%%r10,%[kp],8)", "14")                 \
  QGEMM_VNNI_ROW1(ao, "(%%r13,%[kp],4)", "15")

// The narrow version: 16 rows x the first 16 columns of the panel, tile layout [row][16].
void micro_16x16(const uint8_t* a, int64_t kp, const int8_t* b, int64_t groups, bool accumulate, int32_t* tile) {
  const int64_t acc = accumulate;
  // two more row bases: r12 = row 9, r13 = row 11
  __asm__(QGEMM_VNNI_BODY("lea (%%r10,%[kp],2), %%r12\n\t"
                          "add %[kp], %%r12\n\t"
                          "lea (%%r12,%[kp],2), %%r13\n\t",
                          QGEMM_VNNI_GROUP_16X16,
                          "add $8, %%r12\n\t"
                          "add $8, %%r13\n\t")
          :
          : QGEMM_VNNI_OPERANDS
          : "rcx", "r8", "r9", "r10", "r11", "r12", "r13", QGEMM_VNNI_CLOBBERS);
}
#undef QGEMM_VNNI_GROUP_16X16
#undef QGEMM_VNNI_ROW1
#undef QGEMM_VNNI_OPERANDS
#undef QGEMM_VNNI_BODY
#else
// Plain C++ stand-ins for the instructions, on 64-byte values (QGRAD_VNNI_EMULATED only).
namespace zmm {
struct Vec {
  uint8_t bytes[64];
};
inline Vec zero() { return Vec{}; }
inline Vec load(const void* p) {
  Vec v;
  std::memcpy(v.bytes, p, 64);
  return v;
}
inline void store(void* p, Vec v) { std::memcpy(p, v.bytes, 64); }
inline Vec broadcast_word(const uint8_t* p) {
  Vec v;
  for (int lane = 0; lane < 16; ++lane) std::memcpy(v.bytes + 4 * lane, p, 4);
  return v;
}
inline Vec dpbusd(Vec acc, Vec a, Vec b) {
  for (int lane = 0; lane < 16; ++lane) {
    uint32_t sum;
    std::memcpy(&sum, acc.bytes + 4 * lane, 4);
    for (int t = 0; t < 4; ++t)  // uint32: wraps like the instruction (and ref)
      sum += static_cast<uint32_t>(a.bytes[4 * lane + t] * static_cast<int8_t>(b.bytes[4 * lane + t]));
    std::memcpy(acc.bytes + 4 * lane, &sum, 4);
  }
  return acc;
}
}  // namespace zmm

// What the assembly micro_8x32 above computes.
void micro_8x32(const uint8_t* a, int64_t kp, const int8_t* b, int64_t groups, bool accumulate, int32_t* tile) {
  zmm::Vec c[kMr][2];
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r) {
    c[r][0] = accumulate ? zmm::load(tile + r * 16) : zmm::zero();
    c[r][1] = accumulate ? zmm::load(tile + (kMr + r) * 16) : zmm::zero();
  }
  for (int64_t g = 0; g < groups; ++g) {
    const zmm::Vec b0 = zmm::load(b + g * kGroupBytes);
    const zmm::Vec b1 = zmm::load(b + g * kGroupBytes + 64);
    const uint8_t* ag = a + g * kKg;
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) {
      const zmm::Vec av = zmm::broadcast_word(ag + r * kp);
      c[r][0] = zmm::dpbusd(c[r][0], av, b0);
      c[r][1] = zmm::dpbusd(c[r][1], av, b1);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kMr; ++r) {
    zmm::store(tile + r * 16, c[r][0]);
    zmm::store(tile + (kMr + r) * 16, c[r][1]);
  }
}

// What the assembly micro_16x16 above computes.
void micro_16x16(const uint8_t* a, int64_t kp, const int8_t* b, int64_t groups, bool accumulate, int32_t* tile) {
  zmm::Vec c[kMrNarrow];
#pragma GCC unroll 16
  for (int r = 0; r < kMrNarrow; ++r) c[r] = accumulate ? zmm::load(tile + r * 16) : zmm::zero();
  for (int64_t g = 0; g < groups; ++g) {
    const zmm::Vec b0 = zmm::load(b + g * kGroupBytes);
    const uint8_t* ag = a + g * kKg;
#pragma GCC unroll 16
    for (int r = 0; r < kMrNarrow; ++r) c[r] = zmm::dpbusd(c[r], zmm::broadcast_word(ag + r * kp), b0);
  }
#pragma GCC unroll 16
  for (int r = 0; r < kMrNarrow; ++r) zmm::store(tile + r * 16, c[r]);
}

#endif

// One task: rows [i0, i0 + rows) x panels [p0, p1); row r of the block at a_block + r * stride,
// readable for whole k-groups (a multiple of 16 rows, 4 ceil(k / 4) bytes each).
void run_task(const QGemmCall& c, const uint8_t* a_block, int64_t stride, int64_t i0, int64_t rows, int64_t p0,
              int64_t p1, int32_t* tiles) {
  const int64_t groups_total = detail::div_up(c.k, kKg);
  const int64_t panel_bytes = groups_total * kGroupBytes;
  // k-blocks of equal size (a short last block would be all overhead)
  const int64_t kblocks = detail::div_up(groups_total, kKcGroups);
  const int64_t block_groups = detail::div_up(groups_total, kblocks);
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t j0 = p * kNr, cols = c.n - j0 < kNr ? c.n - j0 : kNr;
    const int8_t* panel = c.packed + p * panel_bytes;
    const bool narrow = cols <= kNrNarrow;
    const int64_t mr = narrow ? kMrNarrow : kMr;
    const int64_t tile_ints = narrow ? kMrNarrow * kNrNarrow : kMr * kNr;
    const int64_t micro_tiles = detail::div_up(rows, mr);
    // the epilogue's per-column constants, per 16-column half of the panel
    vec16::ColumnParams params[2];
    const int64_t cols0 = cols < 16 ? cols : 16, cols1 = cols - cols0;
    vec16::column_params(c, j0, cols0, &params[0]);
    if (cols1 > 0) vec16::column_params(c, j0 + 16, cols1, &params[1]);
    for (int64_t g0 = 0; g0 < groups_total; g0 += block_groups) {
      const int64_t groups = groups_total - g0 < block_groups ? groups_total - g0 : block_groups;
      const bool last = g0 + groups == groups_total;
      for (int64_t t = 0; t < micro_tiles; ++t) {
        int32_t* tile = tiles + t * tile_ints;
        const uint8_t* a = a_block + t * mr * stride + g0 * kKg;
        const int8_t* b = panel + g0 * kGroupBytes;
        if (narrow)
          micro_16x16(a, stride, b, groups, g0 != 0, tile);
        else
          micro_8x32(a, stride, b, groups, g0 != 0, tile);
        if (!last) continue;
        const int64_t r0 = t * mr, n_rows = rows - r0 < mr ? rows - r0 : mr;
        vec16::store_tile(c, tile, i0 + r0, j0, n_rows, cols0, params[0]);
        if (cols1 > 0) vec16::store_tile(c, tile + kMr * 16, i0 + r0, j0 + 16, n_rows, cols1, params[1]);
      }
    }
  }
}

// A thread's packed copy of one row block of A, kept across its tasks.
struct PackedA {
  std::unique_ptr<uint8_t, void (*)(void*)> data{nullptr, std::free};
  int64_t block = -1;  // the row block it holds
};

// Tasks as detail::task_grid cuts them (kMc-row blocks, split by panels when there are too few
// for the threads). The thread that copies the last row block reuses the copy for its next task
// when that has the same rows. Dynamic scheduling: a descheduled thread delays one task, not a
// fixed share of the work.
void qgemm_u8s8s32_avx512vnni(const QGemmCall& c) {
  const int64_t kp = detail::div_up(c.k, kKg) * kKg;
  const detail::TaskGrid grid = detail::task_grid(c, kMc, kNr);
  const int64_t tasks = grid.tasks();
  // In parallel, every task is a chunk of the thread pool (core/parallel.h), handed out as
  // threads come free; each slot (a thread taking part) keeps its own packed A block.
  const int64_t chunks = grid.parallel && tasks > 1 ? tasks : 1;
  std::vector<PackedA> slots(static_cast<size_t>(parallel_slots(chunks)));
  parallel_chunks(chunks, [&](int64_t chunk, int slot) {
    PackedA& packed = slots[static_cast<size_t>(slot)];
    if (!packed.data) {
      // + 64: the broadcast of a row's last group reads 4 bytes, never past kp; the slack only
      // rounds the allocation up to the alignment aligned_alloc requires
      const size_t a_bytes = static_cast<size_t>(kMc * kp) + 64;
      packed.data.reset(static_cast<uint8_t*>(std::aligned_alloc(64, (a_bytes + 63) / 64 * 64)));
      if (!packed.data) std::abort();  // out of memory (at most 96 rows x 65536 bytes = 6.3 MB)
    }
    alignas(64) int32_t tiles[kMc * kNr];
    for (int64_t task = tasks * chunk / chunks; task < tasks * (chunk + 1) / chunks; ++task) {
      const int64_t mb = grid.row_block(task);
      const int64_t i0 = mb * kMc, rows = c.m - i0 < kMc ? c.m - i0 : kMc;
      int64_t p0, p1;
      grid.panel_range(task, &p0, &p1);
      if (i0 + rows < c.m) {
        // Every block but the last is read in place: its kMc rows are all real, and the bytes a
        // row's last k-group reads past k (at most 3) lie in the row's gap or the next row, which
        // exists; B is zero there, so they add nothing. (Copying A cost ~15-25% of a product
        // with 32 output channels.)
        run_task(c, c.a + i0 * c.lda, c.lda, i0, rows, p0, p1, tiles);
        continue;
      }
      if (mb != packed.block) {
        // zero rows up to a multiple of 16, so both micro-kernels (8 and 16 rows) read whole tiles
        pack_a_block(c.a + i0 * c.lda, c.lda, rows, detail::div_up(rows, kMrNarrow) * kMrNarrow, c.k, kp, packed.data.get());
        packed.block = mb;
      }
      run_task(c, packed.data.get(), kp, i0, rows, p0, p1, tiles);
    }
  });
}

}  // namespace

#if !defined(QGRAD_VNNI_EMULATED)
extern const QGemmKernel kQGemmAvx512Vnni;
const QGemmKernel kQGemmAvx512Vnni = {"avx512vnni", kNr, kKg, kKg, pack_avx512vnni, qgemm_u8s8s32_avx512vnni,
                                      detail::cpu_has_avx512vnni};
#else
// Same loop nest, packing and epilogue, plain C++ micro-kernels: runs on any x86-64 CPU.
extern const QGemmKernel kQGemmAvx512VnniEmulated;
const QGemmKernel kQGemmAvx512VnniEmulated = {"avx512vnni-emulated", kNr, kKg, kKg, pack_avx512vnni,
                                              qgemm_u8s8s32_avx512vnni, detail::always_supported};
#endif

}  // namespace qgrad::quant
#endif
