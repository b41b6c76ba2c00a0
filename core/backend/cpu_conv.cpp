// CpuBackend::im2col / col2im for one image: the unfolding that turns a convolution into a
// GEMM, and its adjoint. Both walk the same layout (one helper), row (c, i, j) of cols holding
// kernel tap (i, j) of channel c at every output position:
//   cols[(c kh + i) kw + j, oh Wo + ow] = x[c, oh s - p + i d, ow s - p + j d]   (0 outside)
// For each tap and output row the range of valid ow is computed once, so the inner loops are
// branch-free.
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

// Calls pair(col_index, x_index) for every column entry that reads the image and
// pad(col_index) for every one that falls in the zero padding.
template <class Pair, class Pad>
void visit_unfold(const Window2d& w, Pair&& pair, Pad&& pad) {
  const int64_t cols_per_row = w.out_h * w.out_w;
  for (int64_t c = 0; c < w.planes; ++c)
    for (int64_t i = 0; i < w.kernel_h; ++i)
      for (int64_t j = 0; j < w.kernel_w; ++j) {
        const int64_t row = ((c * w.kernel_h + i) * w.kernel_w + j) * cols_per_row;
        const int64_t shift_w = j * w.dilation - w.padding;
        const auto [lo, hi] = valid_outputs(w.width, w.out_w, w.stride, shift_w);
        for (int64_t oh = 0; oh < w.out_h; ++oh) {
          const int64_t col = row + oh * w.out_w;
          const int64_t ih = oh * w.stride - w.padding + i * w.dilation;
          if (ih < 0 || ih >= w.height) {
            for (int64_t ow = 0; ow < w.out_w; ++ow) pad(col + ow);
            continue;
          }
          const int64_t x_row = (c * w.height + ih) * w.width + shift_w;
          for (int64_t ow = 0; ow < lo; ++ow) pad(col + ow);
          for (int64_t ow = lo; ow < hi; ++ow) pair(col + ow, x_row + ow * w.stride);
          for (int64_t ow = hi; ow < w.out_w; ++ow) pad(col + ow);
        }
      }
}

}  // namespace

void CpuBackend::im2col(const float* x, const Window2d& w, float* cols) {
  visit_unfold(w, [&](int64_t c, int64_t i) { cols[c] = x[i]; }, [&](int64_t c) { cols[c] = 0.f; });
}

void CpuBackend::col2im(const float* cols, const Window2d& w, float* x) {
  visit_unfold(w, [&](int64_t c, int64_t i) { x[i] += cols[c]; }, [](int64_t) {});
}

}  // namespace qgrad
