// CudaBackend's memory, elementwise and reduction kernels, device memory, and the backend
// singleton. Each kernel mirrors its CpuBackend counterpart (core/backend/cpu_backend.cpp)
// element for element: the same formulas, the same NaN and tie rules, double accumulation in
// sums. Short rows (reduce, argmax) are done by one thread each, in the CPU's order, so they match
// it bit for bit; long rows use a block per row, whose tree order may differ in the last bits.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda_backend.h"
#include "core/backend/cuda_device.h"

namespace qgrad {

namespace cuda {
namespace {

// --- device availability and memory ----------------------------------------------------------

// The first use checks for a GPU and lets the stream-ordered allocator keep freed memory
// cached (its default returns memory to the driver at every synchronization).
bool device_ready() {
  static const bool ready = [] {
    if (cuda_device_count() == 0) return false;
    QGRAD_CUDA_CHECK(cudaSetDevice(0));
    cudaMemPool_t pool;
    QGRAD_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, 0));
    uint64_t keep_all = UINT64_MAX;
    QGRAD_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all));
    return true;
  }();
  return ready;
}

void require_device(const char* op) {
  check(device_ready(), op, "device 'cuda' is not available: ", cuda_device_description());
}

// --- compact / scatter --------------------------------------------------------------------------

constexpr int kMaxDims = 16;

// A strided view's geometry, passed to kernels by value. Axes of size 1 are dropped (they
// never move the position), so only real axes count against kMaxDims.
struct Strided {
  int nd = 0;
  int64_t shape[kMaxDims];
  int64_t strides[kMaxDims];
  int64_t offset = 0;
};

Strided make_strided(const Shape& shape, const Shape& strides, int64_t offset, const char* op) {
  Strided s;
  s.offset = offset;
  for (size_t ax = 0; ax < shape.size(); ++ax) {
    if (shape[ax] == 1) continue;
    check(s.nd < kMaxDims, op, "the CUDA backend handles views of at most ", kMaxDims,
          " axes larger than 1, got shape ", shape_str(shape));
    s.shape[s.nd] = shape[ax];
    s.strides[s.nd] = strides[ax];
    ++s.nd;
  }
  return s;
}

// Position in storage of the i-th element (row-major) of the view.
__device__ int64_t strided_position(const Strided& s, int64_t i) {
  int64_t pos = s.offset;
  for (int ax = s.nd - 1; ax >= 0; --ax) {
    const int64_t size = s.shape[ax];
    pos += (i % size) * s.strides[ax];
    i /= size;
  }
  return pos;
}

// Gather (compact: dst[i] = src[view(i)]) or scatter (dst[view(i)] = src[i]).
template <class W, bool kScatter>
__global__ void strided_copy(const W* src, W* dst, Strided s, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t pos = strided_position(s, i);
    if (kScatter) dst[pos] = src[i];
    else dst[i] = src[pos];
  }
}

template <bool kScatter>
void strided(const void* src, DType dtype, const Shape& shape, const Shape& strides, int64_t offset,
             void* dst, const char* op) {
  const int64_t n = numel(shape);
  if (n == 0) return;
  const Strided s = make_strided(shape, strides, offset, op);
  // Copies do not care about the type, only the width.
  if (dtype_size(dtype) == 4)
    strided_copy<uint32_t, kScatter><<<blocks_for(n), kThreads>>>(static_cast<const uint32_t*>(src),
                                                                  static_cast<uint32_t*>(dst), s, n);
  else
    strided_copy<uint8_t, kScatter><<<blocks_for(n), kThreads>>>(static_cast<const uint8_t*>(src),
                                                                 static_cast<uint8_t*>(dst), s, n);
  QGRAD_CUDA_CHECK_LAUNCH();
}

// --- fill / cast ----------------------------------------------------------------------------------

// Integer ranges as plain constants (std::numeric_limits is not callable from device code).
template <class T> struct Range;
template <> struct Range<int32_t> { static constexpr float lo = -2147483648.f, hi_excl = 2147483648.f; static constexpr int32_t min = INT32_MIN, max = INT32_MAX; };
template <> struct Range<int8_t> { static constexpr float lo = -128.f, hi_excl = 128.f; static constexpr int8_t min = -128, max = 127; };
template <> struct Range<uint8_t> { static constexpr float lo = 0.f, hi_excl = 256.f; static constexpr uint8_t min = 0, max = 255; };

// CpuBackend's convert: round half away from zero (roundf), then saturate; NaN becomes 0.
template <class To>
__host__ __device__ To convert(float v) {
  if constexpr (std::is_same_v<To, float>) {
    return v;
  } else {
    if (v != v) return 0;
    const float r = roundf(v);
    if (r < Range<To>::lo) return Range<To>::min;
    if (r >= Range<To>::hi_excl) return Range<To>::max;
    return static_cast<To>(r);
  }
}

template <class T>
void dispatch_dtype(DType dtype, T&& f) {
  switch (dtype) {
    case DType::Float32: f(float{}); break;
    case DType::Int32: f(int32_t{}); break;
    case DType::Int8: f(int8_t{}); break;
    case DType::UInt8: f(uint8_t{}); break;
  }
}

template <class T>
__global__ void fill_kernel(T* dst, int64_t n, T value) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) dst[i] = value;
}

template <class F, class T>
__global__ void cast_kernel(const F* src, T* dst, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) dst[i] = convert<T>(static_cast<float>(src[i]));
}

// --- elementwise --------------------------------------------------------------------------------

constexpr float kSqrt2 = 1.41421356237309504880f;
constexpr float kInvSqrtPi = 0.56418958354775628695f;

__device__ float gelu(float x) { return 0.5f * x * (1.0f + erff(x * kSqrt2 / 2)); }
__device__ float gelu_grad(float x) {
  const float cdf = 0.5f * (1.0f + erff(x * kSqrt2 / 2));
  const float pdf = expf(-0.5f * x * x) * (kInvSqrtPi / kSqrt2);
  return cdf + x * pdf;
}
__device__ float sigmoid(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

__device__ float apply_unary(UnaryOp op, float x, float alpha, float beta) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return expf(x);
    case UnaryOp::Log: return logf(x);
    case UnaryOp::Sqrt: return sqrtf(x);
    case UnaryOp::Abs: return fabsf(x);
    case UnaryOp::Sign: return static_cast<float>((x > 0) - (x < 0));
    case UnaryOp::PowScalar: return powf(x, alpha);
    case UnaryOp::Clamp: return min_rule(max_rule(x, alpha), beta);
    case UnaryOp::Relu: return x > 0 ? x : 0.f;
    case UnaryOp::LeakyRelu: return x > 0 ? x : alpha * x;
    case UnaryOp::Sigmoid: return sigmoid(x);
    case UnaryOp::Tanh: return tanhf(x);
    case UnaryOp::Gelu: return gelu(x);
    case UnaryOp::GeluGrad: return gelu_grad(x);
  }
  return 0.f;
}

__device__ float apply_binary(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
    case BinaryOp::Pow: return powf(a, b);
    case BinaryOp::Maximum: return max_rule(a, b);
    case BinaryOp::Minimum: return min_rule(a, b);
    case BinaryOp::Eq: return a == b ? 1.f : 0.f;
    case BinaryOp::Gt: return a > b ? 1.f : 0.f;
    case BinaryOp::Ge: return a >= b ? 1.f : 0.f;
    case BinaryOp::Lt: return a < b ? 1.f : 0.f;
    case BinaryOp::Le: return a <= b ? 1.f : 0.f;
  }
  return 0.f;
}

__global__ void unary_kernel(UnaryOp op, const float* x, float* y, int64_t n, float alpha, float beta) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = apply_unary(op, x[i], alpha, beta);
}

__global__ void binary_kernel(BinaryOp op, const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = apply_binary(op, a[i], b[i]);
}

__global__ void binary_scalar_kernel(BinaryOp op, const float* a, float b, float* out, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = apply_binary(op, a[i], b);
}

__global__ void where_kernel(const float* cond, const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) out[i] = cond[i] != 0.f ? a[i] : b[i];
}

// --- reductions over rows -------------------------------------------------------------------------


// One row of x reduced sequentially by one thread, exactly as CpuBackend::reduce does.
__device__ float reduce_row_serial(ReduceOp op, const float* row, int64_t inner) {
  if (op == ReduceOp::Sum) {
    double s = 0;
    for (int64_t j = 0; j < inner; ++j) s += row[j];
    return static_cast<float>(s);
  }
  float acc = op == ReduceOp::Max ? -INFINITY : INFINITY;
  for (int64_t j = 0; j < inner; ++j) acc = op == ReduceOp::Max ? max_rule(acc, row[j]) : min_rule(acc, row[j]);
  return acc;
}

__global__ void reduce_short_rows(ReduceOp op, const float* x, float* out, int64_t outer, int64_t inner) {
  for (int64_t o = first_index(); o < outer; o += grid_stride()) out[o] = reduce_row_serial(op, x + o * inner, inner);
}

__global__ void reduce_long_rows(ReduceOp op, const float* x, float* out, int64_t outer, int64_t inner) {
  __shared__ double dshared[kThreads];
  __shared__ float fshared[kThreads];
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const float* row = x + o * inner;
    float result;
    if (op == ReduceOp::Sum) {
      double s = 0;
      for (int64_t j = threadIdx.x; j < inner; j += blockDim.x) s += row[j];
      result = static_cast<float>(block_reduce(s, dshared, Sum{}));
    } else if (op == ReduceOp::Max) {
      float acc = -INFINITY;
      for (int64_t j = threadIdx.x; j < inner; j += blockDim.x) acc = max_rule(acc, row[j]);
      result = block_reduce(acc, fshared, Max{});
    } else {
      float acc = INFINITY;
      for (int64_t j = threadIdx.x; j < inner; j += blockDim.x) acc = min_rule(acc, row[j]);
      result = block_reduce(acc, fshared, Min{});
    }
    if (threadIdx.x == 0) out[o] = result;
  }
}

// argmax = the CPU's "best = 0; if (row[j] > row[best]) best = j": the first maximum; NaNs
// never win, except a NaN at position 0, which nothing beats.
__global__ void argmax_short_rows(const float* x, int32_t* out, int64_t outer, int64_t inner) {
  for (int64_t o = first_index(); o < outer; o += grid_stride()) {
    const float* row = x + o * inner;
    int64_t best = 0;
    for (int64_t j = 1; j < inner; ++j)
      if (row[j] > row[best]) best = j;
    out[o] = static_cast<int32_t>(best);
  }
}

struct Candidate {
  float value;
  int64_t index;  // kNone: nothing above -inf seen
};
constexpr int64_t kNone = INT64_MAX;

struct FirstMax {
  __device__ Candidate operator()(Candidate a, Candidate b) const {
    if (b.value > a.value || (b.value == a.value && b.index < a.index)) return b;
    return a;
  }
};

__global__ void argmax_long_rows(const float* x, int32_t* out, int64_t outer, int64_t inner) {
  __shared__ Candidate shared[kThreads];
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const float* row = x + o * inner;
    // Each thread keeps the first strict maximum of its strided share (NaN is never > anything).
    Candidate best{-INFINITY, kNone};
    for (int64_t j = threadIdx.x; j < inner; j += blockDim.x)
      if (row[j] > best.value) best = {row[j], j};
    best = block_reduce(best, shared, FirstMax{});
    if (threadIdx.x == 0) {
      // Nothing above -inf (all -inf or NaN), or a NaN first: the CPU keeps index 0.
      const bool first_wins = best.index == kNone || row[0] != row[0];
      out[o] = static_cast<int32_t>(first_wins ? 0 : best.index);
    }
  }
}

}  // namespace
}  // namespace cuda

using namespace cuda;

// --- memory -------------------------------------------------------------------------------------

void* cuda_malloc(size_t nbytes) {
  require_device("Storage");
  void* p = nullptr;
  // Stream-ordered allocation on the default stream: freeing needs no device-wide sync.
  const cudaError_t err = cudaMallocAsync(&p, nbytes == 0 ? 1 : nbytes, 0);
  if (err != cudaSuccess) {
    cudaGetLastError();
    fail("Storage", "cannot allocate ", nbytes, " bytes on the CUDA device: ", cudaGetErrorString(err));
  }
  return p;
}

void cuda_free(void* p) noexcept {
  // At process exit the runtime may already be unloaded; the memory goes with it then.
  if (p != nullptr && cudaFreeAsync(p, 0) != cudaSuccess) cudaGetLastError();
}

void cuda_copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  require_device("to");
  cudaMemcpyKind kind = cudaMemcpyDeviceToDevice;
  if (src_device == Device::CPU && dst_device == Device::CPU) kind = cudaMemcpyHostToHost;
  else if (src_device == Device::CPU) kind = cudaMemcpyHostToDevice;
  else if (dst_device == Device::CPU) kind = cudaMemcpyDeviceToHost;
  // cudaMemcpy runs on the default stream after every kernel queued there, and returns once
  // the source may be reused (a copy to the host: once the data has arrived).
  QGRAD_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kind));
}

Backend& cuda_backend() {
  static CudaBackend backend;
  require_device("backend_for");
  return backend;
}

// --- CudaBackend: memory ops --------------------------------------------------------------------

void CudaBackend::compact(const void* src, DType dtype, const Shape& shape, const Shape& strides,
                          int64_t offset, void* dst) {
  strided<false>(src, dtype, shape, strides, offset, dst, "compact");
}

void CudaBackend::scatter(const void* src, DType dtype, const Shape& shape, const Shape& strides,
                          int64_t offset, void* dst) {
  strided<true>(src, dtype, shape, strides, offset, dst, "scatter");
}

void CudaBackend::fill(void* dst, DType dtype, int64_t n, float value) {
  if (n == 0) return;
  dispatch_dtype(dtype, [&](auto t) {
    using T = decltype(t);
    fill_kernel<T><<<blocks_for(n), kThreads>>>(static_cast<T*>(dst), n, convert<T>(value));
  });
  QGRAD_CUDA_CHECK_LAUNCH();
}

void CudaBackend::cast(const void* src, DType from, void* dst, DType to, int64_t n) {
  if (n == 0) return;
  dispatch_dtype(from, [&](auto f) {
    using F = decltype(f);
    dispatch_dtype(to, [&](auto t) {
      using T = decltype(t);
      cast_kernel<F, T><<<blocks_for(n), kThreads>>>(static_cast<const F*>(src), static_cast<T*>(dst), n);
    });
  });
  QGRAD_CUDA_CHECK_LAUNCH();
}

// --- CudaBackend: elementwise -------------------------------------------------------------------

void CudaBackend::unary(UnaryOp op, const float* x, float* y, int64_t n, float alpha, float beta) {
  if (n == 0) return;
  unary_kernel<<<blocks_for(n), kThreads>>>(op, x, y, n, alpha, beta);
  QGRAD_CUDA_CHECK_LAUNCH();
}

void CudaBackend::binary(BinaryOp op, const float* a, const float* b, float* out, int64_t n) {
  if (n == 0) return;
  binary_kernel<<<blocks_for(n), kThreads>>>(op, a, b, out, n);
  QGRAD_CUDA_CHECK_LAUNCH();
}

void CudaBackend::binary_scalar(BinaryOp op, const float* a, float b, float* out, int64_t n) {
  if (n == 0) return;
  binary_scalar_kernel<<<blocks_for(n), kThreads>>>(op, a, b, out, n);
  QGRAD_CUDA_CHECK_LAUNCH();
}

void CudaBackend::where(const float* cond, const float* a, const float* b, float* out, int64_t n) {
  if (n == 0) return;
  where_kernel<<<blocks_for(n), kThreads>>>(cond, a, b, out, n);
  QGRAD_CUDA_CHECK_LAUNCH();
}

// --- CudaBackend: reductions --------------------------------------------------------------------

void CudaBackend::reduce(ReduceOp op, const float* x, float* out, int64_t outer, int64_t inner) {
  if (outer == 0) return;
  if (inner < kShortRow) reduce_short_rows<<<blocks_for(outer), kThreads>>>(op, x, out, outer, inner);
  else reduce_long_rows<<<blocks_for_rows(outer), kThreads>>>(op, x, out, outer, inner);
  QGRAD_CUDA_CHECK_LAUNCH();
}

void CudaBackend::argmax(const float* x, int32_t* out, int64_t outer, int64_t inner) {
  if (outer == 0) return;
  if (inner < kShortRow) argmax_short_rows<<<blocks_for(outer), kThreads>>>(x, out, outer, inner);
  else argmax_long_rows<<<blocks_for_rows(outer), kThreads>>>(x, out, outer, inner);
  QGRAD_CUDA_CHECK_LAUNCH();
}

}  // namespace qgrad
