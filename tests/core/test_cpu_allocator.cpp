// core/cpu_allocator.h: blocks are 64-byte aligned and usable to their full size; a freed large
// block is handed out again for the next request of that size (no fresh, zeroed pages), small
// ones are not cached, and release_cached_memory() empties the cache.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>

#include "core/cpu_allocator.h"
#include "qgrad.h"

using namespace qgrad;

TEST_CASE("cpu_alloc returns 64-byte aligned, writable blocks of every size", "[core]") {
  for (size_t n : {size_t{0}, size_t{1}, size_t{63}, size_t{65}, size_t{4097}, size_t{1} << 20, (size_t{3} << 20) + 5}) {
    INFO("bytes " << n);
    void* p = cpu_alloc(n);
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
    std::memset(p, 0xab, n);
    cpu_free(p);
  }
  cpu_free(nullptr);
}

#if !defined(__SANITIZE_ADDRESS__)  // ASan builds cache nothing, so every use after free is caught
TEST_CASE("freed large blocks are reused by size; small ones are not cached", "[core]") {
  release_cached_memory();
  const size_t big = size_t{5} << 20;
  void* a = cpu_alloc(big);
  cpu_free(a);
  const size_t usable = cached_bytes();
  CHECK(usable >= big);
  void* b = cpu_alloc(big - 100);  // rounds to the same page-rounded size
  CHECK(b == a);
  CHECK(cached_bytes() == 0);
  cpu_free(b);
  void* small = cpu_alloc(1000);
  cpu_free(small);
  const size_t held = cached_bytes();
  CHECK(held == usable);  // b went back to the cache, the small block did not
  CHECK(release_cached_memory() == held);
  CHECK(cached_bytes() == 0);
  // Tensors go through it: a step's same-shaped temporaries come back from the cache.
  { Tensor t = empty({1024, 1024}); }
  CHECK(cached_bytes() >= size_t{4} << 20);
  release_cached_memory();
}
#endif
