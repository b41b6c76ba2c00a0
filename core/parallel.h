// qgrad's own thread pool: parallel loops that share the cores politely.
//
// Why not OpenMP for the float path: libgomp's threads busy-wait (spin) for a long while at
// every barrier and between parallel regions, and how long is fixed by OMP_WAIT_POLICY /
// GOMP_SPINCOUNT, read once in libgomp's own constructor before any code of ours runs; no
// omp_* call changes it afterwards. When another process shares a core, a spinning thread
// burns the time slice its preempted team-mate needs, and a step ran 1.4-2.5x slower (see
// docs/performance.md). This pool instead
//   - spins only briefly (kSpin, tens of microseconds) waiting for work or for the team, then
//     sleeps on a condition variable, so a busy core is handed back to the scheduler;
//   - splits a loop into more chunks than threads and hands them out dynamically (an atomic
//     counter), so a thread that lost its core does less of the work instead of holding the
//     others back, and the caller works too.
// Chunk boundaries depend only on the loop size and the thread count, never on which thread
// ran what: a caller that keeps one partial result per chunk and adds them in chunk order gets
// the same bits on every run.
#pragma once

#include <cstdint>
#include <utility>

namespace qgrad {

// How many chunks parallel_chunks() should split n items into so that each holds at least
// `grain` items: 1 for small loops or one thread, at most kChunksPerThread per thread.
int64_t chunk_count(int64_t n, int64_t grain);

// How many distinct `slot` values body may see for this many chunks (slots are 0..count-1):
// one per thread that takes part. Per-thread scratch buffers are indexed by slot.
int parallel_slots(int64_t chunks);

// True inside a chunk's body: a nested parallel loop then runs serially on this thread.
bool in_parallel();

namespace detail {
// Type-erased body: calls fn(ctx, chunk, slot). Kept as two words so a call allocates nothing.
struct ChunkBody {
  void (*fn)(void* ctx, int64_t chunk, int slot);
  void* ctx;
};
void run_chunks(int64_t chunks, ChunkBody body);
}  // namespace detail

// Calls body(chunk, slot) once for every chunk in [0, chunks), spread over the pool; returns
// when all are done. Two chunks running at the same time never share a slot. An exception
// thrown by a body is rethrown here (the first one) after all chunks have finished.
template <class Body>
void parallel_chunks(int64_t chunks, Body&& body) {
  auto call = [](void* ctx, int64_t chunk, int slot) { (*static_cast<Body*>(ctx))(chunk, slot); };
  detail::run_chunks(chunks, {call, const_cast<void*>(static_cast<const void*>(&body))});
}

// Calls body(lo, hi) over consecutive ranges covering [0, n), each of at least `grain` items
// (except when n itself is smaller), in parallel when there is enough work.
template <class Body>
void parallel_for(int64_t n, int64_t grain, Body&& body) {
  if (n <= 0) return;
  const int64_t chunks = chunk_count(n, grain);
  parallel_chunks(chunks, [&](int64_t c, int) { body(n * c / chunks, n * (c + 1) / chunks); });
}

}  // namespace qgrad
