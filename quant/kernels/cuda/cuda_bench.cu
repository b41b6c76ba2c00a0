// cuda_bench.h: device peak, event timing and the cuBLASLt int8 baseline for the benchmark.
#include "quant/kernels/cuda/cuda_bench.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "core/error.h"

namespace qgrad::quant::cuda {

namespace {
constexpr const char* kOp = "cuda_bench";

void cuda_check(cudaError_t e, const char* what) {
  check(e == cudaSuccess, kOp, what, " failed: ", cudaGetErrorString(e));
}
void lt_check(cublasStatus_t s, const char* what) {
  check(s == CUBLAS_STATUS_SUCCESS, kOp, what, " failed: cuBLAS status ", static_cast<int>(s));
}
}  // namespace

DeviceInfo device_info() {
  DeviceInfo info;
  int dev = 0;
  cuda_check(cudaGetDevice(&dev), "cudaGetDevice");
  cudaDeviceProp prop{};
  cuda_check(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties");
  int clock_khz = 0;
  cuda_check(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, dev), "cudaDeviceGetAttribute");
  info.name = prop.name;
  info.major = prop.major;
  info.minor = prop.minor;
  info.sms = prop.multiProcessorCount;
  info.clock_ghz = clock_khz * 1e-6;
  if (prop.major == 9 && prop.minor == 0) info.int8_peak_tops = info.sms * info.clock_ghz * 8192 * 1e-3;
  return info;
}

double time_ms(const std::function<void()>& fn, int calls) {
  check(calls >= 1, kOp, "time_ms needs at least one call, got ", calls);
  cudaEvent_t start = nullptr, stop = nullptr;
  cuda_check(cudaEventCreate(&start), "cudaEventCreate");
  cuda_check(cudaEventCreate(&stop), "cudaEventCreate");
  cuda_check(cudaEventRecord(start), "cudaEventRecord");
  for (int i = 0; i < calls; ++i) fn();
  cuda_check(cudaEventRecord(stop), "cudaEventRecord");
  cuda_check(cudaEventSynchronize(stop), "cudaEventSynchronize");
  float ms = 0;
  cuda_check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / calls;
}

struct CublasLtInt8Gemm::Plan {
  cublasLtHandle_t handle = nullptr;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulAlgo_t algo{};
  void* workspace = nullptr;
  size_t workspace_bytes = 32u << 20;
  const int8_t* a = nullptr;
  const int8_t* bt = nullptr;
  int32_t* c = nullptr;

  ~Plan() {
    if (workspace) cudaFree(workspace);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (desc) cublasLtMatmulDescDestroy(desc);
    if (handle) cublasLtDestroy(handle);
  }
};

// cuBLASLt is column-major. Row-major C [m, n] is column-major C^T [n, m] = B^T [n, k] x A^T [k, m]:
// its "A" is our B^T (stored column-major as k x n, transposed: op T), its "B" our A (column-major
// k x m, op N), its C our C (column-major n x m, ld n).
CublasLtInt8Gemm::CublasLtInt8Gemm(int64_t m, int64_t n, int64_t k, const int8_t* a, const int8_t* bt, int32_t* c)
    : plan_(std::make_unique<Plan>()) {
  Plan& p = *plan_;
  p.a = a;
  p.bt = bt;
  p.c = c;
  lt_check(cublasLtCreate(&p.handle), "cublasLtCreate");
  lt_check(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32I, CUDA_R_32I), "cublasLtMatmulDescCreate");
  const cublasOperation_t trans = CUBLAS_OP_T, none = CUBLAS_OP_N;
  lt_check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof(trans)), "TRANSA");
  lt_check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &none, sizeof(none)), "TRANSB");
  lt_check(cublasLtMatrixLayoutCreate(&p.la, CUDA_R_8I, static_cast<uint64_t>(k), static_cast<uint64_t>(n), k),
           "layout A");
  lt_check(cublasLtMatrixLayoutCreate(&p.lb, CUDA_R_8I, static_cast<uint64_t>(k), static_cast<uint64_t>(m), k),
           "layout B");
  lt_check(cublasLtMatrixLayoutCreate(&p.lc, CUDA_R_32I, static_cast<uint64_t>(n), static_cast<uint64_t>(m), n),
           "layout C");
  cuda_check(cudaMalloc(&p.workspace, p.workspace_bytes), "cudaMalloc (cuBLASLt workspace)");
  cublasLtMatmulPreference_t pref = nullptr;
  lt_check(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
  lt_check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &p.workspace_bytes,
                                                sizeof(p.workspace_bytes)),
           "preference workspace");
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t s =
      cublasLtMatmulAlgoGetHeuristic(p.handle, p.desc, p.la, p.lb, p.lc, p.lc, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  lt_check(s, "cublasLtMatmulAlgoGetHeuristic");
  check(found >= 1, kOp, "cuBLASLt has no int8 algorithm for m ", m, ", n ", n, ", k ", k);
  p.algo = result.algo;
}

CublasLtInt8Gemm::~CublasLtInt8Gemm() = default;

void CublasLtInt8Gemm::run() {
  Plan& p = *plan_;
  const int32_t alpha = 1, beta = 0;
  lt_check(cublasLtMatmul(p.handle, p.desc, &alpha, p.bt, p.la, p.a, p.lb, &beta, p.c, p.lc, p.c, p.lc, &p.algo,
                          p.workspace, p.workspace_bytes, nullptr),
           "cublasLtMatmul");
}

}  // namespace qgrad::quant::cuda
