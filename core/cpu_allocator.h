// Host memory for tensors, with a cache of freed large blocks.
//
// A training step allocates the same buffers every time (activations, their gradients, conv's
// scratch), many of them megabytes. From malloc, blocks that large are fresh mmap'ed pages each
// time, which the kernel zeroes on first touch: 16% of a CIFAR CNN step (docs/performance.md).
// Freed blocks of at least kCacheMinBytes are kept here instead, by exact (page-rounded) size,
// and handed out again to the next request of that size; the cache holds at most
// kCacheMaxBytes and frees anything beyond. Smaller blocks go straight to malloc, which reuses
// them well already. Builds with AddressSanitizer cache nothing, so every use after free is
// still caught.
#pragma once
#include <cstddef>

namespace qgrad {

// nbytes (0 allowed) of 64-byte aligned memory; throws qgrad::Error when out of memory.
void* cpu_alloc(size_t nbytes);
// Frees memory from cpu_alloc (null is ignored).
void cpu_free(void* p);
// Hands every cached block back to the system; returns how many bytes that was.
size_t release_cached_memory();
// Bytes currently held in the cache (freed by tensors, not yet reused).
size_t cached_bytes();

}  // namespace qgrad
