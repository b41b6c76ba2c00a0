// Integer GEMM behind one interface: uint8 activations x int8 weights -> int32, then either the
// raw int32 accumulator (dynamic-quantized Linear) or the fused requantization to uint8.
//   A [m, k] uint8, zero point za (row stride lda)      m = rows (batch or output pixels)
//   B [k, n] int8, symmetric (zero point 0)              k = reduction, n = output channels
//   acc[i][j] = sum_k A[i][k] B[k][j] - za * colsum_B[j]     colsum_B[j] = sum_k B[k][j]
// The zero point never enters the inner loop: colsum is computed once when B is packed.
// Output mode 1: C32[i][j] = acc + bias[j]                    (int32, two's-complement wrap)
// Output mode 2: C8[i][j]  = requantize(acc + bias[j], M0[j], shift[j], out_zp, qmin, qmax)
// Kernels (registry entries): ref (scalar specification), avx2_nibble, avx2, avx512vnni (x86-64), neon,
// neon_dot (aarch64). Each packs B into its own layout; a PackedB remembers its kernel and
// using it with another one is an error. Every kernel equals ref bit for bit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "quant/kernels/requantize.h"

namespace qgrad::quant {

// The int32 accumulator cannot overflow for k up to this (65536 * 255 * 128 < 2^31).
constexpr int64_t kMaxQGemmDepth = 65536;

struct QGemmKernel;

// B packed once (at convert time) for one kernel. data holds the kernel's layout: panels of
// `nr` columns, k padded to a multiple of `kg` with zeros; colsum[j] = sum_k B[k][j].
struct PackedB {
  const QGemmKernel* kernel = nullptr;
  int64_t k = 0;
  int64_t n = 0;
  std::vector<int8_t> data;
  std::vector<int32_t> colsum;
};

// One call. Exactly one of c_s32 / c_u8 is set; c_u8 needs requant.
struct QGemmArgs {
  int64_t m = 0;
  const uint8_t* a = nullptr;
  int64_t lda = 0;  // >= k
  int32_t a_zero_point = 0;
  const PackedB* b = nullptr;
  const int32_t* bias = nullptr;  // n entries, or null
  int32_t* c_s32 = nullptr;
  uint8_t* c_u8 = nullptr;
  const Requantization* requant = nullptr;
  int64_t ldc = 0;  // >= n
};

// What a kernel's gemm function receives: the validated call flattened to raw pointers, so the
// ISA translation units touch no standard-library templates (see dispatch.cpp on why).
struct QGemmCall {
  int64_t m, n, k;
  const uint8_t* a;
  int64_t lda;
  int32_t za;
  const int8_t* packed;
  const int32_t* colsum;
  const int32_t* bias;
  int32_t* c_s32;
  uint8_t* c_u8;
  const Requantization* rq;
  int64_t ldc;
};

// A registry entry. Layout: ceil(n / nr) panels, ceil(k / kg) groups of k per panel, each group
// taking group_bytes bytes per column.
struct QGemmKernel {
  const char* name;
  int nr;
  int kg;
  int group_bytes;
  void (*pack)(const int8_t* b, int64_t ldb, int64_t k, int64_t n, int8_t* dst);
  void (*gemm)(const QGemmCall& call);
  bool (*supported)();
};

// Every kernel compiled for this architecture, ref first (supported or not).
const std::vector<const QGemmKernel*>& all_kernels();
// The kernel with this name; throws listing the known names if there is none.
const QGemmKernel& find_kernel(const std::string& name);
// The best kernel this CPU supports, chosen once (QGRAD_KERNEL forces one; QGRAD_VERBOSE=1
// prints the choice to stderr).
const QGemmKernel& qgemm_kernel();
// What qgemm_kernel() does with QGRAD_KERNEL's value: "" = the best supported kernel, else that
// kernel, throwing if the name is unknown or this CPU lacks it.
const QGemmKernel& select_kernel(const std::string& forced);

// Packs B [k, n] (row stride ldb >= n) for `kernel` (default: the dispatched one).
PackedB pack_b(const QGemmKernel& kernel, const int8_t* b, int64_t k, int64_t n, int64_t ldb);
PackedB pack_b(const int8_t* b, int64_t k, int64_t n, int64_t ldb);
// Packs a layer's weight W [n, k] (row-major, as Linear stores [out, in]): B = W^T, the
// reduction running down B's rows.
PackedB pack_weight(const QGemmKernel& kernel, const int8_t* w, int64_t n, int64_t k);

// Throws qgrad::Error unless args is a valid call for a B of [k, n] (args.b itself is not
// looked at): strides, exactly one output, zero points and requantization in range. qgemm and
// the CUDA kernels (quant/kernels/cuda/qgemm_cuda.h) validate through this one function.
void check_qgemm_args(const QGemmArgs& args, int64_t k, int64_t n);

// Runs the GEMM with the kernel that packed args.b, or with `kernel`, which must be that one.
void qgemm(const QGemmArgs& args);
void qgemm(const QGemmKernel& kernel, const QGemmArgs& args);

}  // namespace qgrad::quant
