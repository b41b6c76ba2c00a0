// Shared by every qgemm kernel translation unit: B packing into panels, the blocked loop nest
// around a register-tile micro-kernel, and the epilogue that folds the zero point and writes
// the int32 or requantized uint8 output. Everything here is `static` on purpose: each ISA
// translation unit gets its own copy compiled with its own flags, so the linker can never keep
// an AVX-512 body of a shared helper for a caller on a CPU without AVX-512.
//   tile [MR, NR] int32 = sum_k A[i0 + r][k] * B[k][j0 + c]   (what a micro-kernel computes)
//   out = tile - za * colsum[j] + bias[j], then int32 or requantize()
#pragma once

#include <cstdint>
#include <cstring>

#include "core/parallel.h"
#include "core/threads.h"
#include "quant/kernels/qgemm.h"

namespace qgrad::quant::detail {

static inline int64_t div_up(int64_t a, int64_t b) { return (a + b - 1) / b; }

// How the blocked kernels (avx2, avx512vnni) cut C into tasks: row blocks of kMc rows, each also
// cut into column ranges of whole panels when there are too few row blocks to feed every thread
// (a batch-64 Linear is one row block), aiming at 4 tasks per thread. Threads are used only when
// the product is big enough to pay for waking them.
struct TaskGrid {
  bool parallel;
  int64_t panels, mblocks, nblocks, panels_per_block;
  int64_t tasks() const { return mblocks * nblocks; }
  int64_t row_block(int64_t task) const { return task / nblocks; }
  // panels [*p0, *p1) of the task
  void panel_range(int64_t task, int64_t* p0, int64_t* p1) const {
    *p0 = (task % nblocks) * panels_per_block;
    *p1 = *p0 + panels_per_block < panels ? *p0 + panels_per_block : panels;
  }
};

static inline TaskGrid task_grid(const QGemmCall& c, int64_t mc, int nr) {
  TaskGrid g;
  g.panels = div_up(c.n, nr);
  g.mblocks = div_up(c.m, mc);
  g.parallel = c.m * c.n * c.k >= (int64_t{1} << 18) && get_num_threads() > 1;
  const int64_t want_tasks = g.parallel ? 4 * get_num_threads() : 1;
  int64_t nblocks = g.mblocks >= want_tasks ? 1 : div_up(want_tasks, g.mblocks);
  nblocks = nblocks < g.panels ? nblocks : g.panels;
  g.panels_per_block = div_up(g.panels, nblocks);
  g.nblocks = div_up(g.panels, g.panels_per_block);
  return g;
}

// Gathers B's values for each (panel, k-group, column) with zero padding past k and n and hands
// them to emit(values[kg], dst), which writes the kernel's group_bytes bytes for that column.
template <class Emit>
static void pack_panels(const int8_t* b, int64_t ldb, int64_t k, int64_t n, int nr, int kg,
                        int group_bytes, int8_t* dst, Emit emit) {
  const int64_t groups = div_up(k, kg);
  for (int64_t p = 0; p < div_up(n, nr); ++p)
    for (int64_t g = 0; g < groups; ++g)
      for (int c = 0; c < nr; ++c) {
        int8_t v[8] = {};
        const int64_t j = p * nr + c;
        for (int t = 0; t < kg; ++t)
          if (j < n && g * kg + t < k) v[t] = b[(g * kg + t) * ldb + j];
        emit(v, dst + ((p * groups + g) * nr + c) * group_bytes);
      }
}

// Calls step(g, at) for each k-group g, at[r] pointing at the kKg bytes of A row r for that
// group. The last, partial group points into a zero-filled copy (the packed B is zero there too),
// so no read goes past the end of a row.
template <int kMr, int kKg, class Step>
static inline void for_each_a_group(const uint8_t* const* a, int64_t k, Step step) {
  const uint8_t* at[kMr];
  const int64_t full = k / kKg;
  for (int64_t g = 0; g < full; ++g) {
    for (int r = 0; r < kMr; ++r) at[r] = a[r] + g * kKg;
    step(g, at);
  }
  if (const int64_t rest = k - full * kKg; rest > 0) {
    uint8_t tail[kMr][kKg] = {};
    for (int r = 0; r < kMr; ++r) {
      std::memcpy(tail[r], a[r] + full * kKg, static_cast<size_t>(rest));
      at[r] = tail[r];
    }
    step(full, at);
  }
}

// The kKg (<= 4) bytes at p as one little-endian word, ready to broadcast.
template <int kKg>
static inline uint32_t load_word(const uint8_t* p) {
  uint32_t w = 0;
  std::memcpy(&w, p, kKg);
  return w;
}

// The part of output column col that does not depend on the row: bias[col] - za * colsum[col],
// in uint32 arithmetic so it wraps exactly like ref's int32 accumulator (za is the zero point as
// the micro-kernel saw it, see drive).
static inline uint32_t column_offset(const QGemmCall& c, int64_t col, int32_t za) {
  uint32_t off = 0u - static_cast<uint32_t>(za) * static_cast<uint32_t>(c.colsum[col]);
  if (c.bias) off += static_cast<uint32_t>(c.bias[col]);
  return off;
}

static inline void store_tile(const QGemmCall& c, const int32_t* tile, int tile_ld, int64_t i0,
                              int64_t j0, int64_t rows, int64_t cols, int32_t za) {
  const Requantization* rq = c.rq;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t col = j0 + j;
      // uint32 arithmetic: the int32 accumulator wraps identically in every kernel.
      const uint32_t v = static_cast<uint32_t>(tile[r * tile_ld + j]) + column_offset(c, col, za);
      const int64_t at = (i0 + r) * c.ldc + col;
      if (c.c_s32) {
        c.c_s32[at] = static_cast<int32_t>(v);
      } else {
        const int64_t q = rq->per_channel ? col : 0;
        c.c_u8[at] = requantize(static_cast<int32_t>(v), rq->multiplier[q], rq->shift[q],
                                rq->out_zero_point, rq->qmin, rq->qmax);
      }
    }
}

// The loop nest. Micro provides kMr, kNr, kKg, kGroupBytes and
//   run(const uint8_t* const rows[kMr], int64_t k, const int8_t* panel, int32_t tile[kMr * kNr]).
// C is cut into blocks of kMc rows x kNcPanels panels; one block keeps its A rows (kMc x k) in
// L2 while each B panel (k x kNr) is reused from L1/L2 by every row tile. The thread pool hands
// the blocks to threads one at a time (dynamic: on a shared machine a descheduled thread then delays
// one block, not a fixed half of the work) when the product is big enough to pay for waking them. k is not blocked:
// the models here have k <= a few thousand, so a whole panel fits in L2. Ragged m repeats the
// last row pointer (the extra rows are computed and dropped); ragged n is zero padding in the
// panel; ragged k is the micro-kernel's own tail. za_eff is the zero point as the micro-kernel
// saw it (neon_dot shifts activations by -128, so it passes za - 128).
template <class Micro>
static void drive(const QGemmCall& c, int32_t za_eff) {
  constexpr int kMr = Micro::kMr, kNr = Micro::kNr;
  constexpr int64_t kMc = 128, kNcPanels = 8;
  const int64_t panel_bytes = div_up(c.k, Micro::kKg) * kNr * Micro::kGroupBytes;
  const int64_t panels = div_up(c.n, kNr);
  const int64_t mblocks = div_up(c.m, kMc), nblocks = div_up(panels, kNcPanels);
  const int64_t blocks = mblocks * nblocks;
  const bool parallel = blocks > 1 && c.m * c.n * c.k >= (int64_t{1} << 18);
  auto run_block = [&](int64_t blk) {
    const int64_t mb = blk / nblocks, nb = blk % nblocks;
    const int64_t i_end = (mb + 1) * kMc < c.m ? (mb + 1) * kMc : c.m;
    const int64_t p_end = (nb + 1) * kNcPanels < panels ? (nb + 1) * kNcPanels : panels;
    alignas(64) int32_t tile[kMr * kNr];
    for (int64_t p = nb * kNcPanels; p < p_end; ++p) {
      const int8_t* panel = c.packed + p * panel_bytes;
      const int64_t j0 = p * kNr, cols = c.n - j0 < kNr ? c.n - j0 : kNr;
      for (int64_t i = mb * kMc; i < i_end; i += kMr) {
        const int64_t rows = i_end - i < kMr ? i_end - i : kMr;
        const uint8_t* a_rows[kMr];
        for (int r = 0; r < kMr; ++r) a_rows[r] = c.a + (i + (r < rows ? r : rows - 1)) * c.lda;
        Micro::run(a_rows, c.k, panel, tile);
        store_tile(c, tile, kNr, i, j0, rows, cols, za_eff);
      }
    }
  };
  // One chunk of the thread pool (core/parallel.h) per block.
  if (parallel) parallel_chunks(blocks, [&](int64_t blk, int) { run_block(blk); });
  else for (int64_t blk = 0; blk < blocks; ++blk) run_block(blk);
}

}  // namespace qgrad::quant::detail
