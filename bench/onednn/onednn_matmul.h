// oneDNN's int8 matmul on one MxKxN shape, as a baseline column of bench_kernels: src A [M, K]
// uint8 with a zero point, weights B [K, N] int8, dst C [M, N] int32 = (A - za) B, i.e. qgemm's
// c_s32 mode without bias. Compiled only where oneDNN (Debian: libdnnl-dev) is found; the header
// keeps oneDNN's types out of bench_kernels.cpp, which builds with or without it.
#pragma once
#include <cstdint>
#include <memory>

namespace qgrad::bench {

class OneDnnMatmul {
 public:
  // Creates the primitive for the current OpenMP thread count (oneDNN sizes its work split at
  // creation: set the thread count first), and reorders B once into oneDNN's preferred layout,
  // as qgrad packs its weights once. `a` must outlive this object; B is copied.
  OneDnnMatmul(int64_t m, int64_t k, int64_t n, const uint8_t* a, const int8_t* b, int32_t a_zero_point);
  ~OneDnnMatmul();
  OneDnnMatmul(const OneDnnMatmul&) = delete;
  OneDnnMatmul& operator=(const OneDnnMatmul&) = delete;

  void run();                 // one matmul, waits for it to finish
  const int32_t* c() const;   // C after run(), row-major, row stride n
  const char* impl() const;   // the implementation oneDNN picked, e.g. "gemm:jit"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "2.6.3", the version of the library linked.
const char* onednn_version();

}  // namespace qgrad::bench
