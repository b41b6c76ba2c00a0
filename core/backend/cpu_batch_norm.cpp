// CPU batch-norm kernels (see cpu_batch_norm.h for the [N, C, S] layout).
// Statistics: channel c's values are the N rows x[n, c, :] of S floats. Each row is summed in
// float over 8 independent lanes (so the loop vectorizes and the rounding error stays that of a
// row of S / 8 terms), then added into a double accumulator. The moments are taken about the
// channel's first value k: var = mean((x-k)^2) - mean(x-k)^2 cancels badly only when the spread
// is tiny next to |mean - k|, which a value of the channel itself keeps small.
#include "core/backend/cpu_batch_norm.h"

#include <algorithm>

#include "core/parallel.h"

namespace qgrad::cpu {

namespace {

// Below this many elements the thread pool is not worth waking (as in cpu_backend.cpp).
constexpr int64_t kGrain = 1 << 15;
constexpr int kLanes = 8;

// Runs body(c) for every channel, in parallel over channels when there is enough work.
template <class Body>
void for_each_channel(int64_t C, int64_t per_channel, Body&& body) {
  parallel_for(C, std::max<int64_t>(kGrain / std::max<int64_t>(per_channel, 1), 1), [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) body(c);
  });
}

// Adds sum f(j) for j in [0, n) into acc, f returning {first, second} summands.
template <class F>
void add_row(int64_t n, double acc[2], F&& f) {
  float s1[kLanes] = {}, s2[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const auto [a, b] = f(j + l);
      s1[l] += a;
      s2[l] += b;
    }
  for (; j < n; ++j) {
    const auto [a, b] = f(j);
    s1[0] += a;
    s2[0] += b;
  }
  for (int l = 0; l < kLanes; ++l) {
    acc[0] += s1[l];
    acc[1] += s2[l];
  }
}

struct Pair {
  float first, second;
};

}  // namespace

void channel_moments(const float* x, int64_t N, int64_t C, int64_t S, float* mean, float* var) {
  const double count = static_cast<double>(N * S);
  for_each_channel(C, N * S, [&](int64_t c) {
    const float k = x[c * S];
    double acc[2] = {0, 0};  // sum (x - k), sum (x - k)^2
    for (int64_t n = 0; n < N; ++n) {
      const float* row = x + (n * C + c) * S;
      add_row(S, acc, [&](int64_t j) {
        const float v = row[j] - k;
        return Pair{v, v * v};
      });
    }
    const double shift = acc[0] / count;
    mean[c] = static_cast<float>(k + shift);
    var[c] = static_cast<float>(std::max(acc[1] / count - shift * shift, 0.0));
  });
}

void channel_sums(const float* u, const float* v, const float* center, int64_t N, int64_t C,
                  int64_t S, float* sum_u, float* sum_uv) {
  for_each_channel(C, N * S, [&](int64_t c) {
    const float m = center[c];
    double acc[2] = {0, 0};
    for (int64_t n = 0; n < N; ++n) {
      const float *ur = u + (n * C + c) * S, *vr = v + (n * C + c) * S;
      add_row(S, acc, [&](int64_t j) { return Pair{ur[j], ur[j] * (vr[j] - m)}; });
    }
    sum_u[c] = static_cast<float>(acc[0]);
    sum_uv[c] = static_cast<float>(acc[1]);
  });
}

void channel_linear(const float* u, const float* a, const float* v, const float* b, const float* d,
                    int64_t N, int64_t C, int64_t S, float* y) {
  // One task per (image, channel) row of S values; rows are grouped so each chunk has work.
  parallel_for(N * C, std::max<int64_t>(kGrain / std::max<int64_t>(S, 1), 1), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t c = r % C;
      const float ac = a[c], dc = d[c];
      const float* ur = u + r * S;
      float* yr = y + r * S;
      if (v) {
        const float bc = b[c];
        const float* vr = v + r * S;
        for (int64_t j = 0; j < S; ++j) yr[j] = ac * ur[j] + bc * vr[j] + dc;
      } else {
        for (int64_t j = 0; j < S; ++j) yr[j] = ac * ur[j] + dc;
      }
    }
  });
}

}  // namespace qgrad::cpu
