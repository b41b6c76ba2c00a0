// qgrad's thread pool (core/parallel.h): every chunk runs exactly once, slots are never shared
// by two chunks at the same time, nested loops run serially, and a body's exception reaches the
// caller.
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "core/parallel.h"
#include "qgrad.h"

using namespace qgrad;

TEST_CASE("parallel_chunks runs every chunk once and never shares a slot", "[core]") {
  const int before = get_num_threads();
  for (int threads : {1, 2, 3, 5}) {
    set_num_threads(threads);
    for (int64_t chunks : {1, 2, 7, 64, 1000}) {
      INFO("threads " << threads << ", chunks " << chunks);
      std::vector<std::atomic<int>> runs(chunks);
      const int slots = parallel_slots(chunks);
      std::vector<std::atomic<int>> busy(slots);
      std::atomic<bool> shared{false}, out_of_range{false};
      for (int repeat = 0; repeat < 20; ++repeat) {
        parallel_chunks(chunks, [&](int64_t c, int slot) {
          if (slot < 0 || slot >= slots) {
            out_of_range = true;
            return;
          }
          if (busy[slot].fetch_add(1) != 0) shared = true;
          runs[c].fetch_add(1);
          busy[slot].fetch_sub(1);
        });
      }
      CHECK_FALSE(shared);
      CHECK_FALSE(out_of_range);
      for (int64_t c = 0; c < chunks; ++c) CHECK(runs[c] == 20);
    }
  }
  set_num_threads(before);
}

TEST_CASE("parallel_for covers the range in chunks of at least the grain", "[core]") {
  const int before = get_num_threads();
  set_num_threads(2);
  std::vector<int> seen(100003, 0);
  std::atomic<bool> small{false};
  parallel_for(100003, 1000, [&](int64_t lo, int64_t hi) {
    if (hi - lo < 1000) small = true;
    for (int64_t i = lo; i < hi; ++i) seen[i] += 1;
  });
  CHECK_FALSE(small);
  CHECK(std::count(seen.begin(), seen.end(), 1) == 100003);
  CHECK(chunk_count(100003, 1000) > 1);
  CHECK(chunk_count(999, 1000) == 1);
  set_num_threads(before);
}

TEST_CASE("nested parallel loops run serially and exceptions reach the caller", "[core]") {
  const int before = get_num_threads();
  set_num_threads(2);
  std::atomic<int> inner_total{0};
  std::atomic<bool> nested_not_flagged{false};
  parallel_chunks(8, [&](int64_t, int) {
    if (!in_parallel()) nested_not_flagged = true;
    parallel_chunks(4, [&](int64_t, int slot) { inner_total += slot == 0 ? 1 : 100; });
  });
  CHECK_FALSE(nested_not_flagged);
  CHECK(inner_total == 32);  // every inner chunk ran on its caller's thread, slot 0
  CHECK_FALSE(in_parallel());
  CHECK_THROWS_WITH(parallel_chunks(16, [](int64_t c, int) {
                      if (c == 11) throw std::runtime_error("chunk 11 failed");
                    }),
                    "chunk 11 failed");
  // The pool still works after a failed job.
  std::atomic<int> count{0};
  parallel_chunks(16, [&](int64_t, int) { ++count; });
  CHECK(count == 16);
  set_num_threads(before);
}
