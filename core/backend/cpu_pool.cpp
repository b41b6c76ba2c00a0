// CpuBackend pooling kernels over a stack of [height, width] planes (batch * channels), square
// windows, dilation 1. A window starts at (oh s - p, ow s - p) and is clipped to the plane:
// padding never wins a max and adds zeros to an average, whose divisor stays kernel_h kernel_w
// (count_include_pad). Planes are independent, so the thread pool (core/parallel.h) splits them.
#include <algorithm>

#include "core/backend/cpu_backend.h"
#include "core/parallel.h"

namespace qgrad {

namespace {

// Below this many input elements the thread pool is not worth waking.
constexpr int64_t kPoolParallelGrain = 1 << 15;

// The clipped window [h0, h1) x [w0, w1) of output (oh, ow).
struct Span {
  int64_t h0, h1, w0, w1;
};

Span window_at(const Window2d& w, int64_t oh, int64_t ow) {
  const int64_t h = oh * w.stride - w.padding, c = ow * w.stride - w.padding;
  return {std::max<int64_t>(h, 0), std::min(h + w.kernel_h, w.height), std::max<int64_t>(c, 0),
          std::min(c + w.kernel_w, w.width)};
}

// Runs body(plane, out_index, span) for every output of every plane; out_index is in-plane.
template <class Body>
void for_each_window(const Window2d& w, Body&& body) {
  const int64_t planes_per_grain = std::max<int64_t>(kPoolParallelGrain / std::max<int64_t>(w.height * w.width, 1), 1);
  parallel_for(w.planes, planes_per_grain, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p)
      for (int64_t oh = 0; oh < w.out_h; ++oh)
        for (int64_t ow = 0; ow < w.out_w; ++ow) body(p, oh * w.out_w + ow, window_at(w, oh, ow));
  });
}

}  // namespace

void CpuBackend::max_pool2d_forward(const float* x, const Window2d& w, float* y, int32_t* argmax) {
  const int64_t in_plane = w.height * w.width, out_plane = w.out_h * w.out_w;
  for_each_window(w, [&](int64_t p, int64_t o, const Span& s) {
    const float* plane = x + p * in_plane;
    int64_t best = s.h0 * w.width + s.w0;  // the first element wins ties (strict >)
    for (int64_t h = s.h0; h < s.h1; ++h)
      for (int64_t c = s.w0; c < s.w1; ++c)
        if (plane[h * w.width + c] > plane[best]) best = h * w.width + c;
    y[p * out_plane + o] = plane[best];
    argmax[p * out_plane + o] = static_cast<int32_t>(best);
  });
}

void CpuBackend::max_pool2d_backward(const float* dy, const int32_t* argmax, const Window2d& w, float* dx) {
  const int64_t in_plane = w.height * w.width, out_plane = w.out_h * w.out_w;
  std::fill_n(dx, w.planes * in_plane, 0.f);
  // Each plane's outputs scatter only into that plane, so threads never share a write.
  for_each_window(w, [&](int64_t p, int64_t o, const Span&) {
    dx[p * in_plane + argmax[p * out_plane + o]] += dy[p * out_plane + o];
  });
}

void CpuBackend::avg_pool2d_forward(const float* x, const Window2d& w, float* y) {
  const int64_t in_plane = w.height * w.width, out_plane = w.out_h * w.out_w;
  const float inv = 1.f / static_cast<float>(w.kernel_h * w.kernel_w);
  for_each_window(w, [&](int64_t p, int64_t o, const Span& s) {
    const float* plane = x + p * in_plane;
    float acc = 0.f;
    for (int64_t h = s.h0; h < s.h1; ++h)
      for (int64_t c = s.w0; c < s.w1; ++c) acc += plane[h * w.width + c];
    y[p * out_plane + o] = acc * inv;
  });
}

void CpuBackend::avg_pool2d_backward(const float* dy, const Window2d& w, float* dx) {
  const int64_t in_plane = w.height * w.width, out_plane = w.out_h * w.out_w;
  const float inv = 1.f / static_cast<float>(w.kernel_h * w.kernel_w);
  std::fill_n(dx, w.planes * in_plane, 0.f);
  for_each_window(w, [&](int64_t p, int64_t o, const Span& s) {
    const float g = dy[p * out_plane + o] * inv;
    float* plane = dx + p * in_plane;
    for (int64_t h = s.h0; h < s.h1; ++h)
      for (int64_t c = s.w0; c < s.w1; ++c) plane[h * w.width + c] += g;
  });
}

}  // namespace qgrad
