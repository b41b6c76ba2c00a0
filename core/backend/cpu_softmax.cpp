// CPU row kernels for softmax, log_softmax and the fused cross-entropy (declared in the
// "softmax" section of core/backend/backend.h). Each row [inner] is independent, so rows are
// spread over the thread pool (core/parallel.h) when the buffer is large.
//
// Stability: with m = max_j x_j every exponent x_j - m is <= 0, so e^(x_j - m) lies in (0, 1]
// and the row sum lies in [1, inner]: nothing overflows, and log of the sum is never log 0.
//   softmax_j     = e^(x_j - m) / sum
//   log_softmax_j = (x_j - m) - log sum
// Subtracting m from x_j before anything else keeps large logits (1000 vs 999) exact.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/backend/cpu_backend.h"
#include "core/parallel.h"

namespace qgrad {

namespace {

// Below this many elements a loop is not worth waking the thread pool for (as in cpu_backend.cpp).
constexpr int64_t kRowParallelGrain = 1 << 15;

template <class Body>
void for_each_row(int64_t outer, int64_t inner, Body&& body) {
  parallel_for(outer, std::max<int64_t>(kRowParallelGrain / std::max<int64_t>(inner, 1), 1), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) body(o);
  });
}

float row_max(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// sum_j e^(x_j - m), accumulated in double; the terms are also stored in e when e is not null
// (softmax reuses them instead of computing every exponential twice).
double sum_exp(const float* x, int64_t n, float m, float* e) {
  double s = 0;
  for (int64_t j = 0; j < n; ++j) {
    float v = std::exp(x[j] - m);
    if (e) e[j] = v;
    s += v;
  }
  return s;
}

}  // namespace

void CpuBackend::softmax_rows(const float* x, float* y, int64_t outer, int64_t inner, bool log) {
  for_each_row(outer, inner, [&](int64_t o) {
    const float* xr = x + o * inner;
    float* yr = y + o * inner;
    const float m = row_max(xr, inner);
    if (log) {
      const float log_sum = static_cast<float>(std::log(sum_exp(xr, inner, m, nullptr)));
      for (int64_t j = 0; j < inner; ++j) yr[j] = (xr[j] - m) - log_sum;
    } else {
      const float inv = static_cast<float>(1.0 / sum_exp(xr, inner, m, yr));
      for (int64_t j = 0; j < inner; ++j) yr[j] *= inv;
    }
  });
}

void CpuBackend::softmax_rows_backward(const float* y, const float* dy, float* dx, int64_t outer,
                                       int64_t inner, bool log) {
  for_each_row(outer, inner, [&](int64_t o) {
    const float* yr = y + o * inner;
    const float* gr = dy + o * inner;
    float* dr = dx + o * inner;
    double acc = 0;
    if (log) {
      for (int64_t j = 0; j < inner; ++j) acc += gr[j];
      const float s = static_cast<float>(acc);
      for (int64_t j = 0; j < inner; ++j) dr[j] = gr[j] - std::exp(yr[j]) * s;
    } else {
      for (int64_t j = 0; j < inner; ++j) acc += static_cast<double>(gr[j]) * yr[j];
      const float s = static_cast<float>(acc);
      for (int64_t j = 0; j < inner; ++j) dr[j] = yr[j] * (gr[j] - s);
    }
  });
}

void CpuBackend::cross_entropy_rows(const float* x, const int32_t* targets, float* loss, float* row_max_out,
                                    float* row_log_sum, int64_t outer, int64_t inner) {
  for_each_row(outer, inner, [&](int64_t o) {
    const float* xr = x + o * inner;
    const float m = row_max(xr, inner);
    const float log_sum = static_cast<float>(std::log(sum_exp(xr, inner, m, nullptr)));
    row_max_out[o] = m;
    row_log_sum[o] = log_sum;
    loss[o] = (m - xr[targets[o]]) + log_sum;
  });
}

void CpuBackend::cross_entropy_rows_backward(const float* x, const int32_t* targets, const float* row_max_in,
                                             const float* row_log_sum, float scale, float* dx,
                                             int64_t outer, int64_t inner) {
  for_each_row(outer, inner, [&](int64_t o) {
    const float* xr = x + o * inner;
    float* dr = dx + o * inner;
    const float shift = row_max_in[o], log_sum = row_log_sum[o];
    for (int64_t j = 0; j < inner; ++j) dr[j] = scale * std::exp((xr[j] - shift) - log_sum);
    dr[targets[o]] -= scale;
  });
}

}  // namespace qgrad
