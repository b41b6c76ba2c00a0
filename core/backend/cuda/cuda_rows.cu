// CudaBackend's softmax, log_softmax and fused cross-entropy row kernels: the formulas of
// core/backend/cpu_softmax.cpp (row maximum subtracted first, sums in double), one row per team
// (a thread for short rows, a block for long ones; see launch_rows in cuda_common.cuh).
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda_backend.h"

namespace qgrad {

namespace cuda {
namespace {

template <class Team>
__device__ float team_row_max(const Team& t, const float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t j = t.lane(); j < n; j += t.width()) m = max_rule(m, x[j]);
  return t.all(m, Max{});
}

// sum_j e^(x_j - m) in double.
template <class Team>
__device__ double team_sum_exp(const Team& t, const float* x, int64_t n, float m) {
  double s = 0;
  for (int64_t j = t.lane(); j < n; j += t.width()) s += expf(x[j] - m);
  return t.all(s, Sum{});
}

struct SoftmaxRows {
  const float* x;
  float* y;
  int64_t inner;
  bool log;
  template <class Team>
  __device__ void operator()(const Team& t, int64_t o) const {
    const float* xr = x + o * inner;
    float* yr = y + o * inner;
    const float m = team_row_max(t, xr, inner);
    const double s = team_sum_exp(t, xr, inner, m);
    if (log) {
      const float log_sum = static_cast<float>(::log(s));
      for (int64_t j = t.lane(); j < inner; j += t.width()) yr[j] = (xr[j] - m) - log_sum;
    } else {
      const float inv = static_cast<float>(1.0 / s);
      for (int64_t j = t.lane(); j < inner; j += t.width()) yr[j] = expf(xr[j] - m) * inv;
    }
  }
};

struct SoftmaxRowsBackward {
  const float* y;
  const float* dy;
  float* dx;
  int64_t inner;
  bool log;
  template <class Team>
  __device__ void operator()(const Team& t, int64_t o) const {
    const float* yr = y + o * inner;
    const float* gr = dy + o * inner;
    float* dr = dx + o * inner;
    double acc = 0;
    if (log) {
      for (int64_t j = t.lane(); j < inner; j += t.width()) acc += gr[j];
      const float s = static_cast<float>(t.all(acc, Sum{}));
      for (int64_t j = t.lane(); j < inner; j += t.width()) dr[j] = gr[j] - expf(yr[j]) * s;
    } else {
      for (int64_t j = t.lane(); j < inner; j += t.width()) acc += static_cast<double>(gr[j]) * yr[j];
      const float s = static_cast<float>(t.all(acc, Sum{}));
      for (int64_t j = t.lane(); j < inner; j += t.width()) dr[j] = yr[j] * (gr[j] - s);
    }
  }
};

struct CrossEntropyRows {
  const float* x;
  const int32_t* targets;
  float *loss, *row_max, *row_log_sum;
  int64_t inner;
  template <class Team>
  __device__ void operator()(const Team& t, int64_t o) const {
    const float* xr = x + o * inner;
    const float m = team_row_max(t, xr, inner);
    const float log_sum = static_cast<float>(::log(team_sum_exp(t, xr, inner, m)));
    if (t.lane() == 0) {
      row_max[o] = m;
      row_log_sum[o] = log_sum;
      loss[o] = (m - xr[targets[o]]) + log_sum;
    }
  }
};

// dx[o, c] = scale * (e^(x[o, c] - m_o - log_sum_o) - [c == t_o]), one element per thread.
__global__ void cross_entropy_backward_kernel(const float* x, const int32_t* targets, const float* row_max,
                                              const float* row_log_sum, float scale, float* dx,
                                              int64_t outer, int64_t inner) {
  const int64_t n = outer * inner;
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t o = i / inner, c = i % inner;
    float v = scale * expf((x[i] - row_max[o]) - row_log_sum[o]);
    if (c == targets[o]) v -= scale;
    dx[i] = v;
  }
}

}  // namespace
}  // namespace cuda

using namespace cuda;

void CudaBackend::softmax_rows(const float* x, float* y, int64_t outer, int64_t inner, bool log) {
  launch_rows(outer, inner, SoftmaxRows{x, y, inner, log});
}

void CudaBackend::softmax_rows_backward(const float* y, const float* dy, float* dx, int64_t outer,
                                        int64_t inner, bool log) {
  launch_rows(outer, inner, SoftmaxRowsBackward{y, dy, dx, inner, log});
}

void CudaBackend::cross_entropy_rows(const float* x, const int32_t* targets, float* loss, float* row_max,
                                     float* row_log_sum, int64_t outer, int64_t inner) {
  launch_rows(outer, inner, CrossEntropyRows{x, targets, loss, row_max, row_log_sum, inner});
}

void CudaBackend::cross_entropy_rows_backward(const float* x, const int32_t* targets, const float* row_max,
                                              const float* row_log_sum, float scale, float* dx,
                                              int64_t outer, int64_t inner) {
  const int64_t n = outer * inner;
  if (n == 0) return;
  cross_entropy_backward_kernel<<<blocks_for(n), kThreads>>>(x, targets, row_max, row_log_sum, scale, dx,
                                                             outer, inner);
  QGRAD_CUDA_CHECK_LAUNCH();
}

}  // namespace qgrad
