// fake_quantize and the observers' batch range on the GPU (see fake_quant_cuda.h).
#include "quant/kernels/cuda/fake_quant_cuda.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "quant/kernels/cuda/qgemm_cuda.h"
#include "quant/math/quantize_rules.h"

namespace qgrad::quant::cuda {

namespace {

constexpr const char* kOp = "fake_quant_cuda";
constexpr int kThreads = 256;

void cuda_check(cudaError_t e, const char* what) {
  check(e == cudaSuccess, kOp, what, " failed: ", cudaGetErrorString(e));
}

// One thread per element (grid-stride); channel c = (i / inner) % channels.
__global__ void fake_quantize_kernel(const float* __restrict__ x, float* __restrict__ out, float* __restrict__ mask,
                                     int64_t n, int64_t channels, int64_t inner, const float* __restrict__ scale,
                                     const int32_t* __restrict__ zero_point, int32_t qmin, int32_t qmax) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = (i / inner) % channels;
    const float s = scale[c];
    const int32_t zp = zero_point[c];
    const float u = quantize_unclamped(x[i], s, zp);
    out[i] = dequantize_value(clamp_q(u, qmin, qmax), s, zp);
    if (mask) mask[i] = in_clip_range(u, qmin, qmax) ? 1.f : 0.f;
  }
}

// An extreme and the index where it first occurs; `better` decides between two candidates:
// the strictly smaller (larger) value, or on equal values the earlier index, which is what a
// left-to-right std::min / std::max keeps.
struct Extreme {
  float v;
  int64_t at;
};
__device__ __forceinline__ Extreme pick(Extreme a, Extreme b, bool lower) {
  const bool b_wins = lower ? (b.v < a.v || (b.v == a.v && b.at < a.at)) : (b.v > a.v || (b.v == a.v && b.at < a.at));
  return b_wins ? b : a;
}

// Block (bx, c) scans the elements j in [bx per_block, (bx + 1) per_block) of channel c, where
// j = o inner + r numbers the channel's elements in buffer order (element (o channels + c) inner
// + r), and writes its first-occurring min and max and whether it saw a non-finite value.
__global__ void min_max_kernel(const float* __restrict__ x, int64_t channels, int64_t inner, int64_t per_channel,
                               int64_t per_block, Extreme* __restrict__ lo, Extreme* __restrict__ hi,
                               int* __restrict__ bad) {
  __shared__ Extreme slo[kThreads], shi[kThreads];
  __shared__ int sbad[kThreads];
  const int64_t c = blockIdx.y, j0 = static_cast<int64_t>(blockIdx.x) * per_block;
  const int64_t j1 = j0 + per_block < per_channel ? j0 + per_block : per_channel;
  Extreme mn{INFINITY, INT64_MAX}, mx{-INFINITY, INT64_MAX};
  int non_finite = 0;
  for (int64_t j = j0 + threadIdx.x; j < j1; j += kThreads) {
    const int64_t o = j / inner, r = j % inner;
    const int64_t at = (o * channels + c) * inner + r;  // increasing with j: the buffer order
    const float v = x[at];
    non_finite |= !isfinite(v);
    mn = pick(mn, Extreme{v, at}, true);
    mx = pick(mx, Extreme{v, at}, false);
  }
  slo[threadIdx.x] = mn;
  shi[threadIdx.x] = mx;
  sbad[threadIdx.x] = non_finite;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      slo[threadIdx.x] = pick(slo[threadIdx.x], slo[threadIdx.x + half], true);
      shi[threadIdx.x] = pick(shi[threadIdx.x], shi[threadIdx.x + half], false);
      sbad[threadIdx.x] |= sbad[threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const int64_t slot = c * gridDim.x + blockIdx.x;
    lo[slot] = slo[0];
    hi[slot] = shi[0];
    bad[slot] = sbad[0];
  }
}

}  // namespace

void fake_quantize_cuda(const float* x, float* out, float* mask, const ChannelLayout& layout, const float* scale,
                        const int32_t* zero_point, int32_t qmin, int32_t qmax) {
  check(layout.outer >= 0 && layout.channels >= 1 && layout.inner >= 0, kOp, "invalid layout [", layout.outer, ", ",
        layout.channels, ", ", layout.inner, "]");
  const int64_t n = layout.numel();
  if (n == 0) return;
  const DeviceBuffer ds = to_device(std::vector<float>(scale, scale + layout.channels));
  const DeviceBuffer dz = to_device(std::vector<int32_t>(zero_point, zero_point + layout.channels));
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((n + kThreads - 1) / kThreads, int64_t{1} << 20));
  fake_quantize_kernel<<<blocks, kThreads>>>(x, out, mask, n, layout.channels, layout.inner, ds.as<float>(),
                                             dz.as<int32_t>(), qmin, qmax);
  cuda_check(cudaGetLastError(), "fake_quantize launch");
  cuda_check(cudaDeviceSynchronize(), "fake_quantize");
}

bool channel_min_max_cuda(const float* x, const ChannelLayout& layout, float* lo, float* hi) {
  check(layout.outer >= 0 && layout.channels >= 1 && layout.channels <= 65535 && layout.inner >= 0, kOp,
        "invalid layout [", layout.outer, ", ", layout.channels, ", ", layout.inner, "] (at most 65535 channels)");
  const int64_t per_channel = layout.outer * layout.inner;
  check(per_channel > 0, kOp, "no elements to observe");
  // Up to 64 blocks per channel, each at least 4096 elements.
  const int64_t blocks_x = std::clamp<int64_t>((per_channel + 4095) / 4096, 1, 64);
  const int64_t per_block = (per_channel + blocks_x - 1) / blocks_x;
  const size_t slots = static_cast<size_t>(layout.channels * blocks_x);
  DeviceBuffer dlo(slots * sizeof(Extreme)), dhi(slots * sizeof(Extreme)), dbad(slots * sizeof(int));
  min_max_kernel<<<dim3(static_cast<unsigned>(blocks_x), static_cast<unsigned>(layout.channels)), kThreads>>>(
      x, layout.channels, layout.inner, per_channel, per_block, dlo.as<Extreme>(), dhi.as<Extreme>(), dbad.as<int>());
  cuda_check(cudaGetLastError(), "min/max launch");
  std::vector<Extreme> hlo(slots), hhi(slots);
  std::vector<int> hbad(slots);
  dlo.download(hlo.data(), slots * sizeof(Extreme));
  dhi.download(hhi.data(), slots * sizeof(Extreme));
  dbad.download(hbad.data(), slots * sizeof(int));
  if (std::any_of(hbad.begin(), hbad.end(), [](int b) { return b != 0; })) return false;
  // The blocks of a channel cover increasing index ranges: scanning them in order with strict
  // comparisons keeps the first occurrence, as the kernel did within each block.
  for (int64_t c = 0; c < layout.channels; ++c) {
    Extreme mn = hlo[static_cast<size_t>(c * blocks_x)], mx = hhi[static_cast<size_t>(c * blocks_x)];
    for (int64_t b = 1; b < blocks_x; ++b) {
      const Extreme l = hlo[static_cast<size_t>(c * blocks_x + b)], h = hhi[static_cast<size_t>(c * blocks_x + b)];
      if (l.v < mn.v) mn = l;
      if (h.v > mx.v) mx = h;
    }
    lo[c] = mn.v;
    hi[c] = mx.v;
  }
  return true;
}

}  // namespace qgrad::quant::cuda
