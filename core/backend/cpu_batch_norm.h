// CPU kernels for the fused batch norm (core/ops/normalization.cpp), over a compact x viewed as
//   [N, C, S]: N batch, C channels, S spatial positions (H W for BatchNorm2d, 1 for [N, C]).
// Each kernel is one pass over its inputs; the per-channel sums are accumulated in double.
// They are CPU-only on purpose: on other devices the op runs its reference composition of
// generic ops, so a backend need not implement them to be complete.
#pragma once
#include <cstdint>

namespace qgrad::cpu {

// mean[c] and the biased variance var[c] = mean((x - mean)^2) over the N S values of channel c.
void channel_moments(const float* x, int64_t N, int64_t C, int64_t S, float* mean, float* var);

// sum_u[c] = sum u,  sum_uv[c] = sum u (v - center[c]),  over the N S values of channel c.
void channel_sums(const float* u, const float* v, const float* center, int64_t N, int64_t C,
                  int64_t S, float* sum_u, float* sum_uv);

// y = a[c] u + b[c] v + d[c] elementwise, c the channel; with v null, y = a[c] u + d[c].
void channel_linear(const float* u, const float* a, const float* v, const float* b, const float* d,
                    int64_t N, int64_t C, int64_t S, float* y);

}  // namespace qgrad::cpu
