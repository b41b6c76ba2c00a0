// Shared by the CUDA backend's .cu files: error checking, launch geometry and block reductions.
// Every CUDA and cuBLAS call is checked; a failure throws qgrad::Error naming the call, the
// file and line, and CUDA's own message. Kernels use 64-bit indices and grid-stride loops, so
// any n (past 2^31, past the grid's limits) is covered by a bounded number of blocks.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/error.h"

namespace qgrad::cuda {

[[noreturn]] inline void fail_call(const char* call, const char* file, int line, const char* why) {
  fail("cuda", call, " failed at ", file, ":", line, ": ", why);
}

}  // namespace qgrad::cuda

#define QGRAD_CUDA_CHECK(call)                                                             \
  do {                                                                                     \
    const cudaError_t qgrad_err_ = (call);                                                 \
    if (qgrad_err_ != cudaSuccess)                                                         \
      ::qgrad::cuda::fail_call(#call, __FILE__, __LINE__, cudaGetErrorString(qgrad_err_)); \
  } while (0)

#define QGRAD_CUBLAS_CHECK(call)                                                               \
  do {                                                                                         \
    const cublasStatus_t qgrad_st_ = (call);                                                   \
    if (qgrad_st_ != CUBLAS_STATUS_SUCCESS)                                                    \
      ::qgrad::cuda::fail_call(#call, __FILE__, __LINE__, cublasGetStatusString(qgrad_st_));   \
  } while (0)

// Checks that the kernel launch just made was accepted (bad geometry, no device, ...).
#define QGRAD_CUDA_CHECK_LAUNCH() QGRAD_CUDA_CHECK(cudaGetLastError())

namespace qgrad::cuda {

constexpr int kThreads = 256;  // threads per block everywhere; a power of two (block_reduce)

// Blocks for n independent items with a grid-stride loop: enough to fill the GPU, never more
// than the grid allows.
inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::clamp<int64_t>(b, 1, int64_t{1} << 16));
}

// Blocks for `rows` rows handled one block per row (grid-stride over rows).
inline unsigned blocks_for_rows(int64_t rows) {
  return static_cast<unsigned>(std::clamp<int64_t>(rows, 1, int64_t{1} << 16));
}

// Grid-stride index range for the calling thread: for (i = first(); i < n; i += stride()).
__device__ inline int64_t first_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// Combines v over the kThreads threads of a block with op; every thread gets the result.
// `shared` holds kThreads values. Safe to call repeatedly (it synchronizes before returning).
template <class T, class Op>
__device__ T block_reduce(T v, T* shared, Op op) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) shared[threadIdx.x] = op(shared[threadIdx.x], shared[threadIdx.x + s]);
    __syncthreads();
  }
  T out = shared[0];
  __syncthreads();
  return out;
}

// The CPU's std::max / std::min rule (a NaN operand on the right is ignored).
__device__ inline float max_rule(float acc, float v) { return acc < v ? v : acc; }
__device__ inline float min_rule(float acc, float v) { return v < acc ? v : acc; }

struct Sum { __device__ double operator()(double a, double b) const { return a + b; } };
struct Max { __device__ float operator()(float a, float b) const { return max_rule(a, b); } };
struct Min { __device__ float operator()(float a, float b) const { return min_rule(a, b); } };

// --- row kernels: a row [inner] per team ---------------------------------------------------------
// Rows shorter than this are done by one thread each, sequentially in the CPU's order; longer
// rows by a block each. A row body is written once against the Team interface:
//   lane() / width(): this thread's start and step along the row;
//   all(v, op):       v combined over the team (every thread gets it).
constexpr int64_t kShortRow = 64;

struct SerialTeam {
  __device__ int64_t lane() const { return 0; }
  __device__ int64_t width() const { return 1; }
  template <class T, class Op>
  __device__ T all(T v, Op) const { return v; }
};

struct BlockTeam {
  double* dshared;
  float* fshared;
  __device__ int64_t lane() const { return threadIdx.x; }
  __device__ int64_t width() const { return blockDim.x; }
  template <class Op>
  __device__ double all(double v, Op op) const { return block_reduce(v, dshared, op); }
  template <class Op>
  __device__ float all(float v, Op op) const { return block_reduce(v, fshared, op); }
};

template <class Body>
__global__ void rows_serial(int64_t outer, Body body) {
  for (int64_t o = first_index(); o < outer; o += grid_stride()) body(SerialTeam{}, o);
}

template <class Body>
__global__ void rows_block(int64_t outer, Body body) {
  __shared__ double dshared[kThreads];
  __shared__ float fshared[kThreads];
  const BlockTeam team{dshared, fshared};
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) body(team, o);
}

// Runs body(team, o) for every row o < outer (body: a functor with a templated operator()).
template <class Body>
void launch_rows(int64_t outer, int64_t inner, const Body& body) {
  if (outer == 0) return;
  if (inner < kShortRow) rows_serial<<<blocks_for(outer), kThreads>>>(outer, body);
  else rows_block<<<blocks_for_rows(outer), kThreads>>>(outer, body);
  QGRAD_CUDA_CHECK_LAUNCH();
}

}  // namespace qgrad::cuda
