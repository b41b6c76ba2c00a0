// The integer GEMM, im2col and max-pool on an NVIDIA GPU: the same maths as quant/kernels/qgemm.h
// (uint8 activations x int8 weights -> int32, zero point folded through the column sums, then the
// raw int32 or the fused requantization to uint8), computed by a ladder of CUDA kernels that each
// equal the CPU `ref` kernel bit for bit (docs/kernel_ladder.md, "GPU rungs"):
//   naive        one thread per output, the definition as a loop
//   tiled        16 x 16 output tiles, A and B staged through shared memory
//   dp4a         tiled, 4 products per instruction (dp4a.u32.s32: unsigned A x signed B)
//   tensor_core  mma.sync m16n8k32 u8 x s8 -> s32 tensor-core instructions, 128 x 128 block
//                tiles, cp.async 3-stage pipeline, ldmatrix fragments
// Every rung ends in one epilogue: v = acc - za colsum[j] + bias[j] (wrapping int32, as the CPU
// kernels) and, for uint8 output, quant::requantize() — the function of requantize.h itself,
// compiled for the device.
// This header includes no CUDA header: device memory is handed around as plain pointers (the
// caller allocates it, e.g. with DeviceBuffer), so any C++ file can call these functions. Built
// only with the CUDA backend (QGRAD_HAVE_CUDA); without a device every call throws qgrad::Error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "quant/kernels/im2col_u8.h"
#include "quant/kernels/max_pool2d_u8.h"
#include "quant/kernels/qgemm.h"
#include "quant/kernels/requantize.h"

namespace qgrad::quant::cuda {

enum class Rung { Naive, Tiled, Dp4a, TensorCore };

// Every rung, simplest first; its name ("naive", "tiled", "dp4a", "tensor_core").
const std::vector<Rung>& all_rungs();
const char* rung_name(Rung rung);
// The rung with this name; throws listing the names if there is none.
Rung find_rung(const std::string& name);

// Bytes of device memory, freed on destruction (move-only). Copies to and from the host are
// synchronous.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return ptr_; }
  size_t size() const { return bytes_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  // bytes from host src to the start of this buffer / from it to host dst (bytes <= size()).
  void upload(const void* src, size_t bytes);
  void download(void* dst, size_t bytes) const;

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// A device buffer holding a copy of v.
template <class T>
DeviceBuffer to_device(const std::vector<T>& v) {
  DeviceBuffer b(v.size() * sizeof(T));
  if (!v.empty()) b.upload(v.data(), v.size() * sizeof(T));
  return b;
}

// B on the device, uploaded once (at convert or load time): the columns of B [k, n] as rows of
// int8 [n_pad, k_pad] (B^T, i.e. a layer's weight [out, k] as stored), zero-padded to k_pad =
// multiple of 64 and n_pad = multiple of 128 so the tensor-core rung's block tiles never test
// bounds on B, plus colsum[j] = sum_k B[k][j] (int32 [n]).
class DeviceB {
 public:
  // From B [k, n] with row stride ldb >= n (host memory). Same limits as pack_b.
  DeviceB(const int8_t* b, int64_t k, int64_t n, int64_t ldb);
  // From a weight W [n, k] (row-major, host memory): B = W^T.
  static DeviceB from_weight(const int8_t* w, int64_t n, int64_t k);

  int64_t k() const { return k_; }
  int64_t n() const { return n_; }
  int64_t k_pad() const { return k_pad_; }
  const int8_t* data() const { return data_.as<int8_t>(); }    // device, [n_pad, k_pad]
  const int32_t* colsum() const { return colsum_.as<int32_t>(); }  // device, [n]

 private:
  DeviceB() = default;
  void upload_transposed(const int8_t* bt, int64_t k, int64_t n);  // bt [n, k] host
  int64_t k_ = 0, n_ = 0, k_pad_ = 0;
  DeviceBuffer data_, colsum_;
};

// A requantization (requantize.h) validated for n output columns and uploaded once; host()
// keeps the host copy (its pointers point into this object).
class DeviceRequant {
 public:
  DeviceRequant(const Requantization& rq, int64_t n);
  DeviceRequant(DeviceRequant&&) = default;
  const Requantization& host() const { return host_; }
  const int32_t* multiplier() const { return multiplier_.as<int32_t>(); }  // device
  const int32_t* shift() const { return shift_.as<int32_t>(); }            // device

 private:
  std::vector<int32_t> multiplier_host_, shift_host_;
  Requantization host_;
  DeviceBuffer multiplier_, shift_;
};

// One GEMM on device memory, with QGemmArgs' meaning: a [m, lda] uint8, bias [n] int32 or null,
// exactly one of c_s32 / c_u8 ([m, ldc]); c_u8 needs requant. Returns when the result is written.
struct CudaQGemmArgs {
  int64_t m = 0;
  const uint8_t* a = nullptr;  // device
  int64_t lda = 0;             // >= k
  int32_t a_zero_point = 0;
  const DeviceB* b = nullptr;
  const int32_t* bias = nullptr;  // device, n entries, or null
  int32_t* c_s32 = nullptr;       // device
  uint8_t* c_u8 = nullptr;        // device
  const DeviceRequant* requant = nullptr;
  int64_t ldc = 0;  // >= n
};
void qgemm_cuda(Rung rung, const CudaQGemmArgs& args);

// The whole call from host memory, for tests and the benchmark: args exactly as for the CPU
// qgemm, with args.b packed by the `ref` kernel (pack_b(find_kernel("ref"), ...)); B, A, bias
// and the requantization are uploaded for this call, the output copied back into args' c_s32 /
// c_u8.
void qgemm_cuda_host(Rung rung, const QGemmArgs& args);

// im2col_u8 (im2col_u8.h) of `batch` images [batch, H, W, C] at once: out [batch Ho Wo, kH kW C],
// image i's rows first. Device pointers; returns when done.
void im2col_u8_cuda(const uint8_t* images, int64_t batch, const Im2colShape& shape, uint8_t zero_point,
                    uint8_t* out);
// max_pool2d_u8 (max_pool2d_u8.h): x [N, H, W, C] -> y [N, Ho, Wo, C]. Device pointers.
void max_pool2d_u8_cuda(const uint8_t* x, const MaxPoolShape& shape, uint8_t* y);

// Host-memory wrappers of the two above (upload, run, download).
void im2col_u8_cuda_host(const uint8_t* images, int64_t batch, const Im2colShape& shape, uint8_t zero_point,
                         uint8_t* out);
void max_pool2d_u8_cuda_host(const uint8_t* x, const MaxPoolShape& shape, uint8_t* y);

}  // namespace qgrad::quant::cuda
