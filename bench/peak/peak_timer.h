// Runs body() on `threads` OpenMP threads at once, 40 short times, and returns the best wall time in
// seconds (the run least disturbed by other processes on a shared machine).
#pragma once
#include <omp.h>

#include <chrono>

namespace qgrad::bench {

template <class Body>
static double time_parallel(int threads, Body body) {
  double best = 1e30;
  for (int rep = 0; rep < 40; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    body();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = t < best ? t : best;
  }
  return best;
}

}  // namespace qgrad::bench
