// What bench/bench_cuda_kernels needs from CUDA without including a CUDA header: the device's
// int8 tensor-core peak, event timing, and cuBLASLt's int8 GEMM as the baseline column.
//   peak int8 ops/s = SMs x clock x 8192   (sm_90 dense int8: 4 tensor cores per SM, each 1024
//   int8 multiply-adds = 2048 ops per clock; H100/H200 SXM at 1.98 GHz x 132 SMs: 1979 TOP/s,
//   NVIDIA's datasheet figure without sparsity). For other architectures the figure is not
//   computed (0).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace qgrad::quant::cuda {

struct DeviceInfo {
  std::string name;
  int major = 0, minor = 0;
  int sms = 0;
  double clock_ghz = 0;          // the SM clock the driver reports (maximum boost)
  double int8_peak_tops = 0;     // dense int8 tensor-core peak, formula above (0: not known)
};
DeviceInfo device_info();

// Milliseconds of GPU time from a CUDA event before the first call of fn to one after the
// last, over `calls` calls enqueued back to back, divided by calls (fn enqueues work on the
// default stream and does not synchronize).
double time_ms(const std::function<void()>& fn, int calls);

// C s32 [m, n] (row-major) = A s8 [m, k] (row-major) x B, with B given as B^T s8 [n, k]
// (row-major): cublasLtMatmul, CUDA_R_8I inputs, CUBLAS_COMPUTE_32I, the TN layout its int8
// kernels want. Device pointers; the plan (descriptors, heuristic's algorithm, workspace) is made
// once in the constructor. cuBLASLt has no uint8 x int8 form: the baseline multiplies int8 by
// int8, the same amount of work as the rungs.
class CublasLtInt8Gemm {
 public:
  CublasLtInt8Gemm(int64_t m, int64_t n, int64_t k, const int8_t* a, const int8_t* bt, int32_t* c);
  ~CublasLtInt8Gemm();
  CublasLtInt8Gemm(const CublasLtInt8Gemm&) = delete;
  CublasLtInt8Gemm& operator=(const CublasLtInt8Gemm&) = delete;
  void run();  // enqueues one matmul on the default stream

 private:
  struct Plan;
  std::unique_ptr<Plan> plan_;
};

}  // namespace qgrad::quant::cuda
