// CpuBackend::im2col / col2im for a run of images: the unfolding that turns a convolution into
// a GEMM, and its adjoint. Both walk the same layout (one helper), row (c, i, j) of cols holding
// kernel tap (i, j) of channel c at every output position of every image, image n's positions
// after image n-1's:
//   cols[(c kh + i) kw + j, (n Ho + oh) Wo + ow] = x[n, c, oh s - p + i d, ow s - p + j d]   (0 outside)
// For each tap and output row the range of valid ow is computed once, so the inner loops are
// branch-free runs.
#include <algorithm>

#include "core/backend/cpu_backend.h"

namespace qgrad {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Output positions o in [0, out) whose input o stride + shift falls inside [0, in).
std::pair<int64_t, int64_t> valid_outputs(int64_t in, int64_t out, int64_t stride, int64_t shift) {
  int64_t lo = std::clamp<int64_t>(ceil_div(-shift, stride), 0, out);
  int64_t hi = std::clamp<int64_t>(ceil_div(in - shift, stride), lo, out);
  return {lo, hi};
}

// Walks the layout in runs: run(col, x, count) for `count` column entries from col on that
// read the image from x on, every stride-th element; pad(col, count) for entries that fall in
// the zero padding.
template <class Run, class Pad>
void visit_unfold(int64_t images, const Window2d& w, Run&& run, Pad&& pad) {
  const int64_t positions = w.out_h * w.out_w, image = w.planes * w.height * w.width;
  for (int64_t c = 0; c < w.planes; ++c)
    for (int64_t i = 0; i < w.kernel_h; ++i)
      for (int64_t j = 0; j < w.kernel_w; ++j) {
        const int64_t row = ((c * w.kernel_h + i) * w.kernel_w + j) * images * positions;
        const int64_t shift_w = j * w.dilation - w.padding;
        const auto [lo, hi] = valid_outputs(w.width, w.out_w, w.stride, shift_w);
        for (int64_t n = 0; n < images; ++n)
          for (int64_t oh = 0; oh < w.out_h; ++oh) {
            const int64_t col = row + n * positions + oh * w.out_w;
            const int64_t ih = oh * w.stride - w.padding + i * w.dilation;
            if (ih < 0 || ih >= w.height) {
              pad(col, w.out_w);
              continue;
            }
            pad(col, lo);
            run(col + lo, n * image + (c * w.height + ih) * w.width + shift_w + lo * w.stride, hi - lo);
            pad(col + hi, w.out_w - hi);
          }
      }
}

}  // namespace

// Stride 1 is split out because it is the common case and its runs are contiguous, so the
// copies and adds vectorize.
void CpuBackend::im2col(const float* x, int64_t images, const Window2d& w, float* cols) {
  const int64_t s = w.stride;
  visit_unfold(
      images, w,
      [&](int64_t c, int64_t i, int64_t count) {
        if (s == 1) std::copy_n(x + i, count, cols + c);
        else for (int64_t k = 0; k < count; ++k) cols[c + k] = x[i + k * s];
      },
      [&](int64_t c, int64_t count) { std::fill_n(cols + c, count, 0.f); });
}

void CpuBackend::col2im(const float* cols, int64_t images, const Window2d& w, float* x) {
  const int64_t s = w.stride;
  visit_unfold(
      images, w,
      [&](int64_t c, int64_t i, int64_t count) {
        if (s == 1) for (int64_t k = 0; k < count; ++k) x[i + k] += cols[c + k];
        else for (int64_t k = 0; k < count; ++k) x[i + k * s] += cols[c + k];
      },
      [](int64_t, int64_t) {});
}

}  // namespace qgrad
