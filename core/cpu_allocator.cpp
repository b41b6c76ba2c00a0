// The cache behind cpu_alloc (see cpu_allocator.h). Every block carries a 64-byte header in
// front of the caller's pointer holding its usable size, so cpu_free needs no size argument
// and the alignment of the caller's pointer stays 64.
#include "core/cpu_allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "core/error.h"

namespace qgrad {

namespace {

constexpr size_t kAlignment = 64;  // one cache line, one AVX-512 register
constexpr size_t kHeader = kAlignment;
constexpr size_t kPage = 4096;
constexpr size_t kCacheMinBytes = size_t{1} << 18;  // 256 KiB: below, malloc reuses blocks itself
constexpr size_t kCacheMaxBytes = size_t{1} << 30;  // 1 GiB held at most

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCache = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCache = false;
#else
constexpr bool kCache = true;
#endif
#else
constexpr bool kCache = true;
#endif

size_t usable_size(size_t nbytes) {
  const size_t line = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  return line >= kCacheMinBytes ? (line + kPage - 1) / kPage * kPage : line;
}

struct Cache {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_blocks;  // usable size -> blocks (header pointers)
  size_t bytes = 0;
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: tensors in static objects may be freed at exit
  return *c;
}

size_t& header_size(void* block) { return *static_cast<size_t*>(block); }

}  // namespace

void* cpu_alloc(size_t nbytes) {
  const size_t size = usable_size(nbytes);
  void* block = nullptr;
  if (kCache && size >= kCacheMinBytes) {
    Cache& c = cache();
    std::lock_guard lock(c.mu);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      block = it->second.back();
      it->second.pop_back();
      c.bytes -= size;
    }
  }
  if (!block) {
    block = std::aligned_alloc(kAlignment, kHeader + size);
    check(block != nullptr, "Storage", "out of memory allocating ", nbytes, " bytes");
    header_size(block) = size;
  }
  return static_cast<char*>(block) + kHeader;
}

void cpu_free(void* p) {
  if (!p) return;
  void* block = static_cast<char*>(p) - kHeader;
  const size_t size = header_size(block);
  if (kCache && size >= kCacheMinBytes) {
    Cache& c = cache();
    std::lock_guard lock(c.mu);
    if (c.bytes + size <= kCacheMaxBytes) {
      c.free_blocks[size].push_back(block);
      c.bytes += size;
      return;
    }
  }
  std::free(block);
}

size_t release_cached_memory() {
  Cache& c = cache();
  std::lock_guard lock(c.mu);
  const size_t released = c.bytes;
  for (auto& [size, blocks] : c.free_blocks)
    for (void* b : blocks) std::free(b);
  c.free_blocks.clear();
  c.bytes = 0;
  return released;
}

size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard lock(c.mu);
  return c.bytes;
}

}  // namespace qgrad
