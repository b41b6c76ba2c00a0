#include "core/threads.h"

#include <cblas.h>
#include <omp.h>

#include <cstdlib>

#include "core/error.h"

namespace qgrad {

namespace {

int initial_threads() {
  if (const char* env = std::getenv("QGRAD_NUM_THREADS")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    check(end != env && *end == '\0' && n >= 1 && n <= 1024, "QGRAD_NUM_THREADS",
          "expected a positive integer, got '", env, "'");
    return static_cast<int>(n);
  }
  return omp_get_num_procs();
}

int& current() {
  static int n = [] {
    openblas_set_num_threads(1);
    int t = initial_threads();
    omp_set_num_threads(t);
    return t;
  }();
  return n;
}

// Applies the settings at program start, before the first op runs, so OpenBLAS never starts
// with its default (all cores) pool.
const int g_initialized = current();

}  // namespace

void set_num_threads(int n) {
  check(n >= 1, "set_num_threads", "thread count must be >= 1, got ", n);
  current() = n;
  omp_set_num_threads(n);
}

int get_num_threads() { return current(); }

}  // namespace qgrad
