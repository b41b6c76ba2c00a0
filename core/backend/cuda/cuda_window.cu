// CudaBackend's sliding-window kernels: im2col/col2im (core/backend/cpu_conv.cpp) and the
// pooling kernels (core/backend/cpu_pool.cpp). Forward kernels run one thread per output and
// read their window in the CPU's order. The backward kernels (col2im, pool backward) are
// gathers: one thread per input element walks the outputs that touch it in the order the CPU's
// scatter visits them, so no two threads write one element (no atomics) and every sum is
// formed in the CPU's order, bit for bit.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda_backend.h"

namespace qgrad {

namespace cuda {
namespace {

// cols[(c kh + i) kw + j, (n Ho + oh) Wo + ow] = x[n, c, oh s - p + i d, ow s - p + j d], 0 outside.
__global__ void im2col_kernel(const float* x, int64_t images, Window2d w, float* cols, int64_t total) {
  const int64_t positions = w.out_h * w.out_w, image = w.planes * w.height * w.width;
  for (int64_t e = first_index(); e < total; e += grid_stride()) {
    const int64_t col = e % (images * positions), row = e / (images * positions);
    const int64_t n = col / positions, p = col % positions;
    const int64_t j = row % w.kernel_w, i = (row / w.kernel_w) % w.kernel_h, c = row / (w.kernel_w * w.kernel_h);
    const int64_t oh = p / w.out_w, ow = p % w.out_w;
    const int64_t ih = oh * w.stride - w.padding + i * w.dilation;
    const int64_t iw = ow * w.stride - w.padding + j * w.dilation;
    const bool inside = ih >= 0 && ih < w.height && iw >= 0 && iw < w.width;
    cols[e] = inside ? x[n * image + (c * w.height + ih) * w.width + iw] : 0.f;
  }
}

// x[n, c, h, wc] += every cols entry that im2col read from it, taps (i, j) in increasing order
// (each tap reads a given pixel from at most one output position).
__global__ void col2im_kernel(const float* cols, int64_t images, Window2d w, float* x, int64_t total) {
  const int64_t positions = w.out_h * w.out_w;
  for (int64_t e = first_index(); e < total; e += grid_stride()) {
    const int64_t wc = e % w.width, h = (e / w.width) % w.height, c = (e / (w.width * w.height)) % w.planes;
    const int64_t n = e / (w.width * w.height * w.planes);
    float acc = x[e];
    for (int64_t i = 0; i < w.kernel_h; ++i) {
      const int64_t th = h + w.padding - i * w.dilation;  // = oh stride
      if (th < 0 || th % w.stride != 0 || th / w.stride >= w.out_h) continue;
      const int64_t oh = th / w.stride;
      for (int64_t j = 0; j < w.kernel_w; ++j) {
        const int64_t tw = wc + w.padding - j * w.dilation;
        if (tw < 0 || tw % w.stride != 0 || tw / w.stride >= w.out_w) continue;
        acc += cols[((c * w.kernel_h + i) * w.kernel_w + j) * images * positions + n * positions + oh * w.out_w +
                    tw / w.stride];
      }
    }
    x[e] = acc;
  }
}

// The clipped window of output (oh, ow), as in cpu_pool.cpp's window_at.
struct Span {
  int64_t h0, h1, w0, w1;
};
__device__ Span window_at(const Window2d& w, int64_t oh, int64_t ow) {
  const int64_t h = oh * w.stride - w.padding, c = ow * w.stride - w.padding;
  return {h > 0 ? h : 0, h + w.kernel_h < w.height ? h + w.kernel_h : w.height, c > 0 ? c : 0,
          c + w.kernel_w < w.width ? c + w.kernel_w : w.width};
}

// Outputs [lo, hi] along one axis whose window (before clipping) covers input position pos.
__device__ void covering(int64_t pos, int64_t kernel, int64_t stride, int64_t padding, int64_t out,
                         int64_t& lo, int64_t& hi) {
  const int64_t first = pos + padding - kernel + 1;  // oh stride >= first
  lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  hi = (pos + padding) / stride;
  if (hi > out - 1) hi = out - 1;
}

__global__ void max_pool_forward_kernel(const float* x, Window2d w, float* y, int32_t* argmax, int64_t n) {
  const int64_t in_plane = w.height * w.width, out_plane = w.out_h * w.out_w;
  for (int64_t e = first_index(); e < n; e += grid_stride()) {
    const int64_t p = e / out_plane, o = e % out_plane;
    const Span s = window_at(w, o / w.out_w, o % w.out_w);
    const float* plane = x + p * in_plane;
    int64_t best = s.h0 * w.width + s.w0;  // the first element wins ties (strict >)
    for (int64_t h = s.h0; h < s.h1; ++h)
      for (int64_t c = s.w0; c < s.w1; ++c)
        if (plane[h * w.width + c] > plane[best]) best = h * w.width + c;
    y[e] = plane[best];
    argmax[e] = static_cast<int32_t>(best);
  }
}

// kMax: dx gets dy where argmax points at it; else (average) dy / (kernel_h kernel_w) from every
// window covering it. Outputs in row-major order, as the CPU adds them.
template <bool kMax>
__global__ void pool_backward_kernel(const float* dy, const int32_t* argmax, Window2d w, float* dx, int64_t n) {
  const int64_t in_plane = w.height * w.width, out_plane = w.out_h * w.out_w;
  const float inv = 1.f / static_cast<float>(w.kernel_h * w.kernel_w);
  for (int64_t e = first_index(); e < n; e += grid_stride()) {
    const int64_t p = e / in_plane, here = e % in_plane, h = here / w.width, c = here % w.width;
    int64_t oh0, oh1, ow0, ow1;
    covering(h, w.kernel_h, w.stride, w.padding, w.out_h, oh0, oh1);
    covering(c, w.kernel_w, w.stride, w.padding, w.out_w, ow0, ow1);
    float acc = 0.f;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const int64_t o = p * out_plane + oh * w.out_w + ow;
        if (kMax) {
          if (argmax[o] == here) acc += dy[o];
        } else {
          acc += dy[o] * inv;
        }
      }
    dx[e] = acc;
  }
}

__global__ void avg_pool_forward_kernel(const float* x, Window2d w, float* y, int64_t n) {
  const int64_t in_plane = w.height * w.width, out_plane = w.out_h * w.out_w;
  const float inv = 1.f / static_cast<float>(w.kernel_h * w.kernel_w);
  for (int64_t e = first_index(); e < n; e += grid_stride()) {
    const int64_t p = e / out_plane, o = e % out_plane;
    const Span s = window_at(w, o / w.out_w, o % w.out_w);
    const float* plane = x + p * in_plane;
    float acc = 0.f;
    for (int64_t h = s.h0; h < s.h1; ++h)
      for (int64_t c = s.w0; c < s.w1; ++c) acc += plane[h * w.width + c];
    y[e] = acc * inv;
  }
}

}  // namespace
}  // namespace cuda

using namespace cuda;

void CudaBackend::im2col(const float* x, int64_t images, const Window2d& w, float* cols) {
  const int64_t total = w.planes * w.kernel_h * w.kernel_w * images * w.out_h * w.out_w;
  if (total == 0) return;
  im2col_kernel<<<blocks_for(total), kThreads>>>(x, images, w, cols, total);
  QGRAD_CUDA_CHECK_LAUNCH();
}

void CudaBackend::col2im(const float* cols, int64_t images, const Window2d& w, float* x) {
  const int64_t total = images * w.planes * w.height * w.width;
  if (total == 0) return;
  col2im_kernel<<<blocks_for(total), kThreads>>>(cols, images, w, x, total);
  QGRAD_CUDA_CHECK_LAUNCH();
}

void CudaBackend::max_pool2d_forward(const float* x, const Window2d& w, float* y, int32_t* argmax) {
  const int64_t n = w.planes * w.out_h * w.out_w;
  if (n == 0) return;
  max_pool_forward_kernel<<<blocks_for(n), kThreads>>>(x, w, y, argmax, n);
  QGRAD_CUDA_CHECK_LAUNCH();
}

void CudaBackend::max_pool2d_backward(const float* dy, const int32_t* argmax, const Window2d& w, float* dx) {
  const int64_t n = w.planes * w.height * w.width;
  if (n == 0) return;
  pool_backward_kernel<true><<<blocks_for(n), kThreads>>>(dy, argmax, w, dx, n);
  QGRAD_CUDA_CHECK_LAUNCH();
}

void CudaBackend::avg_pool2d_forward(const float* x, const Window2d& w, float* y) {
  const int64_t n = w.planes * w.out_h * w.out_w;
  if (n == 0) return;
  avg_pool_forward_kernel<<<blocks_for(n), kThreads>>>(x, w, y, n);
  QGRAD_CUDA_CHECK_LAUNCH();
}

void CudaBackend::avg_pool2d_backward(const float* dy, const Window2d& w, float* dx) {
  const int64_t n = w.planes * w.height * w.width;
  if (n == 0) return;
  pool_backward_kernel<false><<<blocks_for(n), kThreads>>>(dy, nullptr, w, dx, n);
  QGRAD_CUDA_CHECK_LAUNCH();
}

}  // namespace qgrad
