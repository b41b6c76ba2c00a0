// Standalone exactness check of the qgemm kernels for cross-compiled targets (aarch64 under
// qemu-aarch64, see scripts/test_neon_qemu.sh): it needs only quant/kernels/ and runs the same
// sweep as the Catch2 test, so no Catch2, OpenBLAS or OpenMP build for the target is required.
// Prints one line per kernel (tested or skipped and why) and "N passed, M failed"; exit status
// 0 only when nothing failed and at least one SIMD kernel was tested.
#include <cstdio>
#include <string>

#include "kernel/qgemm_sweep.h"

int main() {
  using namespace qgrad::quant;
  int passed = 0, failed = 0, simd_tested = 0;
  std::printf("dispatched kernel: %s\n", qgemm_kernel().name);
  for (const QGemmKernel* kernel : all_kernels()) {
    if (!kernel->supported()) {
      std::printf("%-12s skipped: this CPU does not support it\n", kernel->name);
      continue;
    }
    const qgrad::testing::SweepResult r = qgrad::testing::sweep_kernel(*kernel, 11);
    std::printf("%-12s %d passed, %d failed%s%s\n", kernel->name, r.passed, r.failed,
                r.failed ? "; first: " : "", r.first_failure.c_str());
    passed += r.passed;
    failed += r.failed;
    simd_tested += std::string(kernel->name) != "ref";
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  if (simd_tested == 0) std::printf("no SIMD kernel was tested\n");
  return failed == 0 && simd_tested > 0 ? 0 : 1;
}
