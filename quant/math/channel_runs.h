// Per-channel iteration over a contiguous (row-major) buffer, shared by quantize, dequantize,
// fake_quantize and the observers (not part of the public API).
//
// With the channel axis a of shape [d0, ..., d(a-1), C, d(a+1), ...] the buffer is
// [outer, C, inner] with outer = d0 * ... * d(a-1) and inner = d(a+1) * ...: each (o, c) is one
// contiguous run of `inner` elements belonging to channel c. Per-tensor data is one run of
// channel 0. Long runs are cut into chunks so the thread pool can share them between threads.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/parallel.h"
#include "core/shape.h"

namespace qgrad::quant::detail {

struct ChannelRun {
  int64_t channel, start, count;
};

// The runs of a buffer of `shape` for channel axis `axis` (already normalized), or the whole
// buffer as channel 0 when per_channel is false.
inline std::vector<ChannelRun> channel_runs(const Shape& shape, bool per_channel, int64_t axis) {
  constexpr int64_t chunk = 1 << 14;
  const int64_t n = numel(shape);
  int64_t outer = 1, channels = 1, inner = n;
  if (per_channel) {
    channels = shape[axis];
    inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= shape[i];
    for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
  }
  std::vector<ChannelRun> runs;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t s = 0; s < inner; s += chunk)
        runs.push_back({c, (o * channels + c) * inner + s, std::min(chunk, inner - s)});
  return runs;
}

// f(run) for every run, on the thread pool (core/parallel.h) when the buffer (n values) is large.
template <class F>
void for_each_run(const std::vector<ChannelRun>& runs, int64_t n, F&& f) {
  const int64_t count = static_cast<int64_t>(runs.size());
  parallel_for(count, n > (1 << 16) ? 1 : count, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) f(runs[r]);
  });
}

}  // namespace qgrad::quant::detail
