#include "core/threads.h"

#include <omp.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace qgrad {

namespace {

// What start-up made of QGRAD_NUM_THREADS: the count to use, and the problem when the variable
// held something else. Start-up runs inside a static initializer, where an exception would
// abort the program before main (even --help), so the problem is kept and raised later, as a
// qgrad::Error, by get_num_threads(), which every program calls while applying its --threads.
struct ThreadSetting {
  int threads = 1;
  std::string problem;
};

ThreadSetting initial_threads() {
  ThreadSetting s{omp_get_num_procs(), ""};
  if (const char* env = std::getenv("QGRAD_NUM_THREADS")) {
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && errno == 0 && n >= 1 && n <= 1024)
      s.threads = static_cast<int>(n);
    else
      s.problem = cat("expected an integer from 1 to 1024, got '", env, "'");
  }
  return s;
}

ThreadSetting& current() {
  static ThreadSetting s = [] {
    ThreadSetting t = initial_threads();
    omp_set_num_threads(t.threads);
    return t;
  }();
  return s;
}

// Applies the settings at program start, before the first op runs. Never throws (see
// ThreadSetting). (OpenBLAS is made single-threaded by core/backend/cpu_gemm.cpp, so this file
// and core/parallel.cpp build without BLAS, as scripts/test_neon_qemu.sh compiles them.)
const int g_initialized = current().threads;

}  // namespace

void set_num_threads(int n) {
  check(n >= 1, "set_num_threads", "thread count must be >= 1, got ", n);
  current() = {n, ""};  // an explicit count replaces a bad QGRAD_NUM_THREADS
  omp_set_num_threads(n);
}

int get_num_threads() {
  const ThreadSetting& s = current();
  check(s.problem.empty(), "QGRAD_NUM_THREADS", s.problem);
  return s.threads;
}

}  // namespace qgrad
