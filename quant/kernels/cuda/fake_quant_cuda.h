// Quantization-aware training on the GPU: fake quantization (forward and the straight-through
// mask) and the per-channel range an observer takes from a batch, as CUDA kernels over device
// buffers. quant/math/quantize.cpp (fake_quantize) and quant/math/observer.cpp (RangeObserver)
// call them for tensors whose device() is Device::CUDA; the maths is that of the CPU paths, the
// scalar rules of quant/math/quantize_rules.h compiled for the device, so the results are equal
// bit for bit:
//   out[i]  = dequantize_value(clamp_q(u), s_c, zp_c),  u = quantize_unclamped(x[i], s_c, zp_c)
//   mask[i] = in_clip_range(u) ? 1 : 0                 (the STE: the gradient is g * mask)
//   min_c / max_c = the first-occurring smallest / largest value of channel c (as the CPU's
//   running std::min / std::max keeps the first of equal values: -0.0 and 0.0 stay apart)
// A contiguous buffer with channel axis a is [outer, channels, inner] (quant/math/channel_runs.h);
// per tensor it is one channel. No CUDA header here; pointers named device are device memory.
#pragma once
#include <cstdint>

namespace qgrad::quant::cuda {

struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
  int64_t numel() const { return outer * channels * inner; }
};

// x, out (device, numel floats) and mask (device, or null for no mask); scale and zero_point:
// host arrays of layout.channels entries. Returns when done.
void fake_quantize_cuda(const float* x, float* out, float* mask, const ChannelLayout& layout, const float* scale,
                        const int32_t* zero_point, int32_t qmin, int32_t qmax);

// The range of each channel of device x into host lo / hi (layout.channels entries each).
// Returns false, leaving lo / hi unspecified, when x holds a NaN or an infinity.
bool channel_min_max_cuda(const float* x, const ChannelLayout& layout, float* lo, float* hi);

}  // namespace qgrad::quant::cuda
