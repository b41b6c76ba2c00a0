// The GPU integer GEMM ladder, im2col and max-pool (API and formulas in qgemm_cuda.h; the rungs
// explained in docs/kernel_ladder.md). Every rung computes the raw accumulator
//   acc[i][j] = sum_p A[i][p] * B[p][j]   (exact in int32 for k <= kMaxQGemmDepth)
// and hands it to Epilogue::store, the one place that folds -za colsum[j] + bias[j] (uint32
// arithmetic: wraps like the CPU kernels' store_tile) and requantizes with quant::requantize,
// the same __host__ __device__ function the CPU calls.
// B lives on the device as B^T [n_pad, k_pad] int8 (DeviceB), zero beyond [n, k]; the products
// of zero B bytes with whatever A bytes sit there are 0, so padding never changes a sum.
#include "quant/kernels/cuda/qgemm_cuda.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "core/error.h"

namespace qgrad::quant::cuda {

namespace {

constexpr const char* kOp = "qgemm_cuda";

void cuda_check(cudaError_t e, const char* what) {
  check(e == cudaSuccess, kOp, what, " failed: ", cudaGetErrorString(e));
}

// A pointer a kernel will dereference must be device (or managed) memory: a host pointer would
// fault inside the kernel and poison the whole CUDA context, so it is refused here instead.
void check_device_pointer(const void* p, const char* what) {
  if (p == nullptr) return;
  cudaPointerAttributes attr{};
  const cudaError_t e = cudaPointerGetAttributes(&attr, p);
  if (e != cudaSuccess) cudaGetLastError();  // clear it, so no later launch check reports it
  check(e == cudaSuccess && (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged), kOp,
        what, " is not a device pointer (allocate it with DeviceBuffer)");
}

int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

// Padding of DeviceB, so the tensor-core rung's 128 x 128 x 64 tiles read B without bounds tests.
constexpr int64_t kPadK = 64, kPadN = 128;

// Everything the epilogue needs, passed by value to every kernel.
struct Epilogue {
  int64_t m, n, ldc;
  int32_t za;
  const int32_t* colsum;
  const int32_t* bias;  // or null
  int32_t* c_s32;       // exactly one of c_s32 / c_u8
  uint8_t* c_u8;
  const int32_t* multiplier;
  const int32_t* shift;
  bool per_channel;
  int32_t out_zp, qmin, qmax;

  __device__ __forceinline__ void store(int64_t i, int64_t j, int32_t acc) const {
    if (i >= m || j >= n) return;
    uint32_t v = static_cast<uint32_t>(acc) - static_cast<uint32_t>(za) * static_cast<uint32_t>(colsum[j]);
    if (bias) v += static_cast<uint32_t>(bias[j]);
    if (c_s32) {
      c_s32[i * ldc + j] = static_cast<int32_t>(v);
    } else {
      const int64_t q = per_channel ? j : 0;
      c_u8[i * ldc + j] = requantize(static_cast<int32_t>(v), multiplier[q], shift[q], out_zp, qmin, qmax);
    }
  }
};

// --- rung (a): naive ----------------------------------------------------------------------------
// One thread per output, the definition as a loop: every product reads A and B from global memory
// (through L1/L2), so the kernel is bound by memory traffic, k bytes of each per output.
constexpr int kNaiveBlock = 16;

__global__ void qgemm_naive(int64_t k, const uint8_t* __restrict__ a, int64_t lda, const int8_t* __restrict__ bt,
                            int64_t ldb, Epilogue ep) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * kNaiveBlock + threadIdx.y;
  const int64_t j = static_cast<int64_t>(blockIdx.y) * kNaiveBlock + threadIdx.x;
  if (i >= ep.m || j >= ep.n) return;
  const uint8_t* ar = a + i * lda;
  const int8_t* br = bt + j * ldb;
  int32_t acc = 0;
  for (int64_t p = 0; p < k; ++p) acc += static_cast<int32_t>(ar[p]) * static_cast<int32_t>(br[p]);
  ep.store(i, j, acc);
}

// --- rung (b): shared-memory tiled ---------------------------------------------------------------
// A 16 x 16 block of outputs; the block stages a 16 x 16 piece of A and of B^T in shared memory
// per step of 16 along k, so each global byte is read once per block instead of once per output
// (16x less traffic). Values are widened to int32 on the way in; the +1 column keeps the B reads
// of a warp (16 different rows, same column) in different banks.
constexpr int kTile = 16;

__global__ void qgemm_tiled(int64_t k, const uint8_t* __restrict__ a, int64_t lda, const int8_t* __restrict__ bt,
                            int64_t ldb, Epilogue ep) {
  __shared__ int32_t as[kTile][kTile + 1];
  __shared__ int32_t bs[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t i0 = static_cast<int64_t>(blockIdx.x) * kTile, j0 = static_cast<int64_t>(blockIdx.y) * kTile;
  int32_t acc = 0;
  for (int64_t p0 = 0; p0 < k; p0 += kTile) {
    const int64_t p = p0 + tx;
    as[ty][tx] = (i0 + ty < ep.m && p < k) ? static_cast<int32_t>(a[(i0 + ty) * lda + p]) : 0;
    bs[ty][tx] = (j0 + ty < ep.n && p < k) ? static_cast<int32_t>(bt[(j0 + ty) * ldb + p]) : 0;
    __syncthreads();
#pragma unroll
    for (int t = 0; t < kTile; ++t) acc += as[ty][t] * bs[tx][t];
    __syncthreads();
  }
  ep.store(i0 + ty, j0 + tx, acc);
}

// --- rung (c): dp4a -----------------------------------------------------------------------------
// 64 x 64 outputs per block of 256 threads, 4 x 4 per thread, k in steps of 32 bytes. A and B^T
// are staged as 32-bit words of 4 consecutive k values, and one dp4a instruction adds the 4
// products of a word pair to the accumulator. The signedness: A is uint8, B int8, so the mixed
// form dp4a.u32.s32 (a's bytes zero-extended, b's sign-extended) computes exactly
// sum a_u8 * b_s8 — no shift of A by 128 and no zero-point correction is needed (the intrinsic
// __dp4a only offers the s32.s32 and u32.u32 forms, hence the inline PTX).
constexpr int kDpTile = 64, kDpK = 32, kDpWords = kDpK / 4;

__device__ __forceinline__ int32_t dp4a_u8s8(uint32_t a, uint32_t b, int32_t c) {
  int32_t d;
  asm("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
}

__global__ void __launch_bounds__(256) qgemm_dp4a(int64_t k, const uint8_t* __restrict__ a, int64_t lda,
                                                  const int8_t* __restrict__ bt, int64_t ldb, Epilogue ep) {
  __shared__ uint32_t as[kDpTile][kDpWords + 1];
  __shared__ uint32_t bs[kDpTile][kDpWords + 1];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t i0 = static_cast<int64_t>(blockIdx.x) * kDpTile, j0 = static_cast<int64_t>(blockIdx.y) * kDpTile;
  int32_t acc[4][4] = {};
  for (int64_t p0 = 0; p0 < k; p0 += kDpK) {
    // 64 rows x 8 words of each operand: two words per thread.
    for (int w = tid; w < kDpTile * kDpWords; w += 256) {
      const int r = w / kDpWords, c = w % kDpWords;
      const int64_t p = p0 + 4 * c;
      // A: any lda, so its word is assembled from bytes (those past k are 0).
      uint32_t word = 0;
      if (i0 + r < ep.m) {
        const uint8_t* src = a + (i0 + r) * lda + p;
        for (int q = 0; q < 4; ++q)
          if (p + q < k) word |= static_cast<uint32_t>(src[q]) << (8 * q);
      }
      as[r][c] = word;
      // B^T: rows padded to a multiple of 64 bytes and to n_pad >= the block's columns, zero
      // past k, so its words are aligned loads without tests.
      bs[r][c] = *reinterpret_cast<const uint32_t*>(bt + (j0 + r) * ldb + p);
    }
    __syncthreads();
#pragma unroll
    for (int c = 0; c < kDpWords; ++c) {
      uint32_t av[4], bv[4];
#pragma unroll
      for (int t = 0; t < 4; ++t) {
        av[t] = as[ty + 16 * t][c];
        bv[t] = bs[tx + 16 * t][c];
      }
#pragma unroll
      for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int s = 0; s < 4; ++s) acc[r][s] = dp4a_u8s8(av[r], bv[s], acc[r][s]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < 4; ++r)
#pragma unroll
    for (int s = 0; s < 4; ++s) ep.store(i0 + ty + 16 * r, j0 + tx + 16 * s, acc[r][s]);
}

// --- rung (d): tensor cores ----------------------------------------------------------------------
// mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32: one warp multiplies a 16 x 32 uint8 A piece by
// a 32 x 8 int8 B piece into a 16 x 8 int32 accumulator. Fragment layouts (PTX ISA, "Matrix
// Fragments for mma.m16n8k32"), g = lane / 4, t = lane % 4, each register 4 bytes, lowest k in
// the lowest byte:
//   A: a0 = A[g][4t..4t+3]      a1 = A[g+8][4t..]     a2 = A[g][16+4t..]    a3 = A[g+8][16+4t..]
//   B: b0 = B[4t..4t+3][g]      b1 = B[16+4t..][g]    (column g of B = row g of B^T)
//   C: c0, c1 = C[g][2t], C[g][2t+1]                  c2, c3 = C[g+8][2t], C[g+8][2t+1]
// Block: 128 x 128 outputs, 8 warps as 2 (m) x 4 (n), each warp 64 x 32 = 4 x 4 mma tiles.
// k advances 64 bytes per stage; a stage's A and B^T pieces (128 rows x 64 bytes each) are copied
// global -> shared with cp.async (16 bytes per instruction, no registers on the way), 3 stages in
// flight, so loads of stage s+2 overlap the mma of stage s. Fragments come out of shared memory
// with ldmatrix.x4 (four 8 x 16-byte matrices per instruction, exactly the a0..a3 above, or b0, b1
// of two 8-column tiles). Shared rows are 80 bytes (64 + 16 padding): the 8 row addresses of one
// 8 x 16-byte matrix then fall in 8 different 16-byte bank groups (80 r mod 128 distinct for
// r < 8), so ldmatrix is conflict-free.
// A is read with cp.async's zero-fill form: src_size = bytes of the 16 that lie inside [m, k]
// (0 for rows past m), the rest of the 16 shared bytes are zeros. That needs every 16-byte A
// chunk aligned: qgemm_cuda copies an A with lda or base not a multiple of 16 to an aligned
// pitched buffer first.
constexpr int kTcM = 128, kTcN = 128, kTcK = 64, kTcStages = 3, kTcThreads = 256;
constexpr int kTcRow = kTcK + 16;  // bytes per shared row
constexpr int kTcStageBytes = (kTcM + kTcN) * kTcRow;
constexpr int kTcSmem = kTcStages * kTcStageBytes;

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}
// The "memory" clobbers keep the compiler from moving shared-memory accesses across these.
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t addr, uint32_t (&r)[4]) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr)
               : "memory");
}

__device__ __forceinline__ void mma_u8s8(int32_t (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Issues the copies of k-tile kt into stage buffer `stage` (not waited for here).
__device__ __forceinline__ void tc_load_stage(uint8_t* smem, int stage, int64_t kt, int64_t i0, int64_t j0, int64_t m,
                                              int64_t k, const uint8_t* a, int64_t lda, const int8_t* bt,
                                              int64_t ldb) {
  uint8_t* as = smem + stage * kTcStageBytes;
  uint8_t* bs = as + kTcM * kTcRow;
  const int64_t p0 = kt * kTcK;
  constexpr int kChunksPerRow = kTcK / 16;
  for (int c = threadIdx.x; c < kTcM * kChunksPerRow; c += kTcThreads) {
    const int r = c / kChunksPerRow, col = (c % kChunksPerRow) * 16;
    const int64_t i = i0 + r, p = p0 + col;
    const int64_t left = k - p;
    const int bytes = i < m ? static_cast<int>(left <= 0 ? 0 : (left >= 16 ? 16 : left)) : 0;
    const void* src = bytes > 0 ? static_cast<const void*>(a + i * lda + p) : static_cast<const void*>(a);
    cp_async16(smem_addr(as + r * kTcRow + col), src, bytes);
  }
  for (int c = threadIdx.x; c < kTcN * kChunksPerRow; c += kTcThreads) {
    const int r = c / kChunksPerRow, col = (c % kChunksPerRow) * 16;
    cp_async16(smem_addr(bs + r * kTcRow + col), bt + (j0 + r) * ldb + p0 + col, 16);
  }
}

__global__ void __launch_bounds__(kTcThreads) qgemm_tensor_core(int64_t k, const uint8_t* __restrict__ a, int64_t lda,
                                                                 const int8_t* __restrict__ bt, int64_t ldb,
                                                                 Epilogue ep) {
  extern __shared__ __align__(128) uint8_t smem[];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int warp_m = warp / 4, warp_n = warp % 4;  // 2 x 4 warps, 64 x 32 outputs each
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kTcM, j0 = static_cast<int64_t>(blockIdx.x) * kTcN;
  const int64_t ktiles = (k + kTcK - 1) / kTcK;

  int32_t acc[4][4][4] = {};  // [m tile][n tile][c0..c3]

#pragma unroll
  for (int s = 0; s < kTcStages - 1; ++s) {
    if (s < ktiles) tc_load_stage(smem, s, s, i0, j0, ep.m, k, a, lda, bt, ldb);
    cp_async_commit();
  }
  // ldmatrix row addresses of this lane (byte offsets inside a stage's A / B^T piece):
  //   A x4: matrices (rows 0-7, k 0-15), (rows 8-15, k 0-15), (rows 0-7, k 16-31), (rows 8-15, k 16-31)
  //   B x4: (cols 0-7, k 0-15), (cols 0-7, k 16-31), (cols 8-15, k 0-15), (cols 8-15, k 16-31)
  const int a_off = (warp_m * 64 + lane % 16) * kTcRow + (lane / 16) * 16;
  const int b_off = (warp_n * 32 + lane % 8 + (lane / 16) * 8) * kTcRow + ((lane / 8) % 2) * 16;

  for (int64_t kt = 0; kt < ktiles; ++kt) {
    cp_async_wait<kTcStages - 2>();  // k-tile kt has landed (for this thread's copies) ...
    __syncthreads();                 // ... and for everyone's; the stage read at kt - 1 is free
    const int64_t next = kt + kTcStages - 1;
    if (next < ktiles) tc_load_stage(smem, static_cast<int>(next % kTcStages), next, i0, j0, ep.m, k, a, lda, bt, ldb);
    cp_async_commit();  // an empty group at the end keeps wait_group's count in step

    const uint8_t* as = smem + static_cast<int>(kt % kTcStages) * kTcStageBytes;
    const uint32_t a_base = smem_addr(as) + a_off;
    const uint32_t b_base = smem_addr(as + kTcM * kTcRow) + b_off;
#pragma unroll
    for (int ks = 0; ks < kTcK; ks += 32) {
      uint32_t af[4][4], bf[2][4];
#pragma unroll
      for (int mt = 0; mt < 4; ++mt) ldmatrix_x4(a_base + mt * 16 * kTcRow + ks, af[mt]);
#pragma unroll
      for (int np = 0; np < 2; ++np) ldmatrix_x4(b_base + np * 16 * kTcRow + ks, bf[np]);
#pragma unroll
      for (int mt = 0; mt < 4; ++mt)
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) mma_u8s8(acc[mt][nt], af[mt], bf[nt / 2][(nt % 2) * 2], bf[nt / 2][(nt % 2) * 2 + 1]);
    }
  }
  cp_async_wait<0>();

  const int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int mt = 0; mt < 4; ++mt)
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
      const int64_t row = i0 + warp_m * 64 + mt * 16 + g, col = j0 + warp_n * 32 + nt * 8 + 2 * t;
      ep.store(row, col, acc[mt][nt][0]);
      ep.store(row, col + 1, acc[mt][nt][1]);
      ep.store(row + 8, col, acc[mt][nt][2]);
      ep.store(row + 8, col + 1, acc[mt][nt][3]);
    }
}

// Blocks of tile_m x tile_n outputs over C [m, n]: row blocks on grid x (up to 2^31 - 1) and
// column blocks on y (up to 65535), or the other way round when columns_on_x.
dim3 grid_of(int64_t m, int64_t n, int64_t tile_m, int64_t tile_n, bool columns_on_x = false) {
  const int64_t gm = (m + tile_m - 1) / tile_m, gn = (n + tile_n - 1) / tile_n;
  const int64_t gx = columns_on_x ? gn : gm, gy = columns_on_x ? gm : gn;
  check(gx <= 0x7fffffff && gy <= 65535, kOp, "output [", m, ", ", n, "] needs too many blocks");
  return dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy));
}

void launch(Rung rung, int64_t k, const uint8_t* a, int64_t lda, const DeviceB& b, const Epilogue& ep) {
  const int8_t* bt = b.data();
  const int64_t ldb = b.k_pad();
  switch (rung) {
    case Rung::Naive:
      qgemm_naive<<<grid_of(ep.m, ep.n, kNaiveBlock, kNaiveBlock), dim3(kNaiveBlock, kNaiveBlock)>>>(k, a, lda, bt,
                                                                                                    ldb, ep);
      break;
    case Rung::Tiled:
      qgemm_tiled<<<grid_of(ep.m, ep.n, kTile, kTile), dim3(kTile, kTile)>>>(k, a, lda, bt, ldb, ep);
      break;
    case Rung::Dp4a:
      qgemm_dp4a<<<grid_of(ep.m, ep.n, kDpTile, kDpTile), 256>>>(k, a, lda, bt, ldb, ep);
      break;
    case Rung::TensorCore: {
      static const cudaError_t attr =
          cudaFuncSetAttribute(qgemm_tensor_core, cudaFuncAttributeMaxDynamicSharedMemorySize, kTcSmem);
      cuda_check(attr, "cudaFuncSetAttribute (tensor-core shared memory)");
      const dim3 grid = grid_of(ep.m, ep.n, kTcM, kTcN, true);  // x: column blocks (neighbours share A rows)
      qgemm_tensor_core<<<grid, kTcThreads, kTcSmem>>>(k, a, lda, bt, ldb, ep);
      break;
    }
  }
  cuda_check(cudaGetLastError(), "kernel launch");
}

}  // namespace

const std::vector<Rung>& all_rungs() {
  static const std::vector<Rung> rungs = {Rung::Naive, Rung::Tiled, Rung::Dp4a, Rung::TensorCore};
  return rungs;
}

const char* rung_name(Rung rung) {
  switch (rung) {
    case Rung::Naive:
      return "naive";
    case Rung::Tiled:
      return "tiled";
    case Rung::Dp4a:
      return "dp4a";
    case Rung::TensorCore:
      return "tensor_core";
  }
  return "?";
}

Rung find_rung(const std::string& name) {
  for (Rung r : all_rungs())
    if (name == rung_name(r)) return r;
  fail(kOp, "unknown rung '", name, "' (known: naive, tiled, dp4a, tensor_core)");
}

// --- DeviceBuffer --------------------------------------------------------------------------------

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes > 0) cuda_check(cudaMalloc(&ptr_, bytes), "cudaMalloc");
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cudaFree(ptr_);  // nothing useful to do with an error while destroying
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::upload(const void* src, size_t bytes) {
  check(bytes <= bytes_, kOp, "upload of ", bytes, " bytes into a buffer of ", bytes_);
  if (bytes > 0) cuda_check(cudaMemcpy(ptr_, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (to device)");
}

void DeviceBuffer::download(void* dst, size_t bytes) const {
  check(bytes <= bytes_, kOp, "download of ", bytes, " bytes from a buffer of ", bytes_);
  if (bytes > 0) cuda_check(cudaMemcpy(dst, ptr_, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy (to host)");
}

// --- DeviceB, DeviceRequant ----------------------------------------------------------------------

void DeviceB::upload_transposed(const int8_t* bt, int64_t k, int64_t n) {
  check(k >= 1 && n >= 1, kOp, "B must be at least [1, 1], got [", k, ", ", n, "]");
  check(k <= kMaxQGemmDepth, kOp, "k = ", k, " exceeds ", kMaxQGemmDepth, " (the int32 accumulator could overflow)");
  k_ = k;
  n_ = n;
  k_pad_ = round_up(k, kPadK);
  const int64_t n_pad = round_up(n, kPadN);
  std::vector<int8_t> padded(static_cast<size_t>(n_pad * k_pad_), 0);
  std::vector<int32_t> colsum(static_cast<size_t>(n), 0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = 0; p < k; ++p) {
      padded[static_cast<size_t>(j * k_pad_ + p)] = bt[j * k + p];
      colsum[static_cast<size_t>(j)] += bt[j * k + p];
    }
  data_ = to_device(padded);
  colsum_ = to_device(colsum);
}

DeviceB::DeviceB(const int8_t* b, int64_t k, int64_t n, int64_t ldb) {
  check(b != nullptr, kOp, "B is null");
  check(ldb >= n, kOp, "ldb = ", ldb, " is smaller than n = ", n);
  check(k >= 1 && n >= 1, kOp, "B must be at least [1, 1], got [", k, ", ", n, "]");
  std::vector<int8_t> bt(static_cast<size_t>(k * n));
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) bt[static_cast<size_t>(j * k + p)] = b[p * ldb + j];
  upload_transposed(bt.data(), k, n);
}

DeviceB DeviceB::from_weight(const int8_t* w, int64_t n, int64_t k) {
  check(w != nullptr, kOp, "weight is null");
  DeviceB b;
  b.upload_transposed(w, k, n);
  return b;
}

DeviceRequant::DeviceRequant(const Requantization& rq, int64_t n) {
  check(rq.multiplier != nullptr && rq.shift != nullptr, kOp, "requantization without multiplier and shift");
  check(n >= 1, kOp, "requantization for n = ", n, " columns");
  const size_t count = static_cast<size_t>(rq.per_channel ? n : 1);
  multiplier_host_.assign(rq.multiplier, rq.multiplier + count);
  shift_host_.assign(rq.shift, rq.shift + count);
  host_ = rq;
  host_.multiplier = multiplier_host_.data();
  host_.shift = shift_host_.data();
  // The same checks as every CPU call: a GEMM of one row into a dummy output.
  uint8_t dummy = 0;
  QGemmArgs probe;
  probe.lda = 1;
  probe.c_u8 = &dummy;
  probe.requant = &host_;
  probe.ldc = n;
  check_qgemm_args(probe, 1, n);
  multiplier_ = to_device(multiplier_host_);
  shift_ = to_device(shift_host_);
}

// --- the GEMM entry points ----------------------------------------------------------------------

void qgemm_cuda(Rung rung, const CudaQGemmArgs& args) {
  check(args.b != nullptr, kOp, "B is null (upload it as a DeviceB)");
  const DeviceB& b = *args.b;
  QGemmArgs view;  // the call as the CPU sees it, for the shared validation
  view.m = args.m;
  view.a = args.a;
  view.lda = args.lda;
  view.a_zero_point = args.a_zero_point;
  view.bias = args.bias;
  view.c_s32 = args.c_s32;
  view.c_u8 = args.c_u8;
  view.requant = args.requant ? &args.requant->host() : nullptr;
  view.ldc = args.ldc;
  check_qgemm_args(view, b.k(), b.n());
  if (args.m == 0) return;
  check_device_pointer(args.a, "A");
  check_device_pointer(args.bias, "bias");
  check_device_pointer(args.c_s32, "c_s32");
  check_device_pointer(args.c_u8, "c_u8");

  Epilogue ep{};
  ep.m = args.m;
  ep.n = b.n();
  ep.ldc = args.ldc;
  ep.za = args.a_zero_point;
  ep.colsum = b.colsum();
  ep.bias = args.bias;
  ep.c_s32 = args.c_s32;
  ep.c_u8 = args.c_u8;
  if (args.c_u8) {
    const Requantization& rq = args.requant->host();
    ep.multiplier = args.requant->multiplier();
    ep.shift = args.requant->shift();
    ep.per_channel = rq.per_channel;
    ep.out_zp = rq.out_zero_point;
    ep.qmin = rq.qmin;
    ep.qmax = rq.qmax;
  }
  const uint8_t* a = args.a;
  int64_t lda = args.lda;
  DeviceBuffer aligned;  // the tensor-core rung's cp.async needs 16-byte aligned A rows
  if (rung == Rung::TensorCore && (lda % 16 != 0 || reinterpret_cast<uintptr_t>(a) % 16 != 0)) {
    lda = round_up(b.k(), 16);
    aligned = DeviceBuffer(static_cast<size_t>(args.m * lda));
    cuda_check(cudaMemcpy2D(aligned.get(), static_cast<size_t>(lda), args.a, static_cast<size_t>(args.lda),
                            static_cast<size_t>(b.k()), static_cast<size_t>(args.m), cudaMemcpyDeviceToDevice),
               "cudaMemcpy2D (aligning A)");
    a = aligned.as<uint8_t>();
  }
  launch(rung, b.k(), a, lda, b, ep);
  // `aligned` is freed on return; cudaFree waits for the kernel that reads it.
}

void qgemm_cuda_host(Rung rung, const QGemmArgs& args) {
  check(args.b != nullptr && args.b->kernel == &find_kernel("ref"), kOp,
        "qgemm_cuda_host takes B packed by the 'ref' kernel (pack_b(find_kernel(\"ref\"), ...))");
  const PackedB& packed = *args.b;
  check_qgemm_args(args, packed.k, packed.n);
  if (args.m == 0) return;
  const int64_t k = packed.k, n = packed.n;
  // ref's layout is plain columns: column j of B is k contiguous bytes, i.e. B^T [n, k].
  const DeviceB b = DeviceB::from_weight(packed.data.data(), n, k);
  DeviceBuffer a(static_cast<size_t>((args.m - 1) * args.lda + k));
  a.upload(args.a, a.size());
  DeviceBuffer bias;
  if (args.bias) bias = to_device(std::vector<int32_t>(args.bias, args.bias + n));
  const size_t out_elems = static_cast<size_t>((args.m - 1) * args.ldc + n);
  DeviceBuffer c(out_elems * (args.c_s32 ? sizeof(int32_t) : 1));
  // Columns between n and ldc are left as they were: start from the caller's contents.
  c.upload(args.c_s32 ? static_cast<const void*>(args.c_s32) : args.c_u8, c.size());
  CudaQGemmArgs d;
  d.m = args.m;
  d.a = a.as<uint8_t>();
  d.lda = args.lda;
  d.a_zero_point = args.a_zero_point;
  d.b = &b;
  d.bias = args.bias ? bias.as<int32_t>() : nullptr;
  d.c_s32 = args.c_s32 ? c.as<int32_t>() : nullptr;
  d.c_u8 = args.c_u8 ? c.as<uint8_t>() : nullptr;
  std::optional<DeviceRequant> rq;
  if (args.c_u8) rq.emplace(*args.requant, n);
  d.requant = rq ? &*rq : nullptr;
  d.ldc = args.ldc;
  qgemm_cuda(rung, d);
  c.download(args.c_s32 ? static_cast<void*>(args.c_s32) : args.c_u8, c.size());
}

// --- im2col and max-pool ---------------------------------------------------------------------------
// One thread per output byte (grid-stride): both are pure data movement, and with consecutive
// threads on consecutive output bytes the stores are coalesced and the loads nearly so (channels
// last: consecutive output bytes are consecutive channels of one pixel).

__global__ void im2col_kernel(const uint8_t* __restrict__ images, int64_t total, int64_t h, int64_t w, int64_t c,
                              int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t ho, int64_t wo,
                              int64_t cols, uint8_t zp, uint8_t* __restrict__ out) {
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = idx / cols, col = idx % cols;
    const int64_t img = row / (ho * wo), pix = row % (ho * wo), oy = pix / wo, ox = pix % wo;
    const int64_t ky = col / (kw * c), rem = col % (kw * c), kx = rem / c, ch = rem % c;
    const int64_t y = oy * sh - ph + ky, x = ox * sw - pw + kx;
    out[idx] = (y >= 0 && y < h && x >= 0 && x < w) ? images[((img * h + y) * w + x) * c + ch] : zp;
  }
}

__global__ void max_pool_kernel(const uint8_t* __restrict__ x, int64_t total, int64_t h, int64_t w, int64_t c,
                                int64_t k, int64_t stride, int64_t pad, int64_t oh, int64_t ow,
                                uint8_t* __restrict__ y) {
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t ch = idx % c, ox = (idx / c) % ow, oy = (idx / (c * ow)) % oh, img = idx / (c * ow * oh);
    const int64_t y0 = max(int64_t{0}, oy * stride - pad), y1 = min(h, oy * stride - pad + k);
    const int64_t x0 = max(int64_t{0}, ox * stride - pad), x1 = min(w, ox * stride - pad + k);
    uint8_t best = 0;  // padding is never a window's only pixel (padding < kernel), so 0 never wins wrongly
    for (int64_t yy = y0; yy < y1; ++yy)
      for (int64_t xx = x0; xx < x1; ++xx) {
        const uint8_t v = x[((img * h + yy) * w + xx) * c + ch];
        best = v > best ? v : best;
      }
    y[idx] = best;
  }
}

unsigned blocks_for(int64_t total) {
  return static_cast<unsigned>(std::min<int64_t>((total + 255) / 256, int64_t{1} << 20));
}

void im2col_u8_cuda(const uint8_t* images, int64_t batch, const Im2colShape& s, uint8_t zero_point, uint8_t* out) {
  check_im2col_shape(s);
  check(batch >= 0, "im2col_u8_cuda", "batch = ", batch, " is negative");
  const int64_t total = batch * s.rows() * s.cols();
  if (total == 0) return;
  check_device_pointer(images, "im2col images");
  check_device_pointer(out, "im2col output");
  im2col_kernel<<<blocks_for(total), 256>>>(images, total, s.height, s.width, s.channels, s.kernel_w, s.stride_h,
                                            s.stride_w, s.pad_h, s.pad_w, s.out_h(), s.out_w(), s.cols(), zero_point,
                                            out);
  cuda_check(cudaGetLastError(), "im2col launch");
}

void max_pool2d_u8_cuda(const uint8_t* x, const MaxPoolShape& s, uint8_t* y) {
  check_max_pool_shape(s);
  const int64_t total = s.batch * s.out_h() * s.out_w() * s.channels;
  if (total == 0) return;
  check_device_pointer(x, "max-pool input");
  check_device_pointer(y, "max-pool output");
  max_pool_kernel<<<blocks_for(total), 256>>>(x, total, s.height, s.width, s.channels, s.options.kernel, s.stride(),
                                              s.options.padding, s.out_h(), s.out_w(), y);
  cuda_check(cudaGetLastError(), "max-pool launch");
}

void im2col_u8_cuda_host(const uint8_t* images, int64_t batch, const Im2colShape& s, uint8_t zero_point,
                         uint8_t* out) {
  check_im2col_shape(s);
  check(batch >= 0, "im2col_u8_cuda", "batch = ", batch, " is negative");
  const size_t in_bytes = static_cast<size_t>(batch * s.height * s.width * s.channels);
  const size_t out_bytes = static_cast<size_t>(batch * s.rows() * s.cols());
  if (out_bytes == 0) return;
  DeviceBuffer din(in_bytes), dout(out_bytes);
  din.upload(images, in_bytes);
  im2col_u8_cuda(din.as<uint8_t>(), batch, s, zero_point, dout.as<uint8_t>());
  dout.download(out, out_bytes);
}

void max_pool2d_u8_cuda_host(const uint8_t* x, const MaxPoolShape& s, uint8_t* y) {
  check_max_pool_shape(s);
  const size_t in_bytes = static_cast<size_t>(s.batch * s.height * s.width * s.channels);
  const size_t out_bytes = static_cast<size_t>(s.batch * s.out_h() * s.out_w() * s.channels);
  if (out_bytes == 0) return;
  DeviceBuffer din(in_bytes), dout(out_bytes);
  din.upload(x, in_bytes);
  max_pool2d_u8_cuda(din.as<uint8_t>(), s, dout.as<uint8_t>());
  dout.download(y, out_bytes);
}

}  // namespace qgrad::quant::cuda
