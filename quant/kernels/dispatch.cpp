// The kernel registry and the one-time choice among its entries.
// Detection: on x86-64, CPUID through __builtin_cpu_supports plus XGETBV, because a CPU can have
// AVX2/AVX-512 while the operating system does not save the YMM/ZMM/mask registers on a context
// switch (then the instructions must not be used); on aarch64, the kernel's HWCAP bits.
// This file is compiled without ISA flags: it only asks questions, it never runs the answers.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "quant/kernels/cpu_features.h"
#include "quant/kernels/qgemm.h"

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace qgrad::quant {

extern const QGemmKernel kQGemmRef;
#if defined(__x86_64__)
extern const QGemmKernel kQGemmAvx2Nibble;
extern const QGemmKernel kQGemmAvx2;
extern const QGemmKernel kQGemmAvx512Vnni;
#elif defined(__aarch64__)
extern const QGemmKernel kQGemmNeon;
extern const QGemmKernel kQGemmNeonDot;
#endif

namespace detail {

bool always_supported() { return true; }

#if defined(__x86_64__)
namespace {
// XCR0: which register states the OS saves (bit 1 SSE, 2 AVX, 5 opmask, 6 ZMM_Hi256, 7 Hi16_ZMM).
uint64_t os_saved_state() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE)) return 0;
  uint32_t lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
}  // namespace

bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && (os_saved_state() & 0x6) == 0x6; }
bool cpu_has_avx512vnni() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vnni") && (os_saved_state() & 0xe6) == 0xe6;
}
bool cpu_has_neon() { return false; }
bool cpu_has_neon_dot() { return false; }
#elif defined(__aarch64__)
namespace {
constexpr unsigned long kHwcapAsimd = 1ul << 1;     // HWCAP_ASIMD
constexpr unsigned long kHwcapAsimdDp = 1ul << 20;  // HWCAP_ASIMDDP
}  // namespace
bool cpu_has_avx2() { return false; }
bool cpu_has_avx512vnni() { return false; }
bool cpu_has_neon() { return getauxval(AT_HWCAP) & kHwcapAsimd; }
bool cpu_has_neon_dot() { return cpu_has_neon() && (getauxval(AT_HWCAP) & kHwcapAsimdDp); }
#else
bool cpu_has_avx2() { return false; }
bool cpu_has_avx512vnni() { return false; }
bool cpu_has_neon() { return false; }
bool cpu_has_neon_dot() { return false; }
#endif

}  // namespace detail

const std::vector<const QGemmKernel*>& all_kernels() {
  static const std::vector<const QGemmKernel*> kernels = {
      &kQGemmRef,
#if defined(__x86_64__)
      &kQGemmAvx2Nibble, &kQGemmAvx2, &kQGemmAvx512Vnni,
#elif defined(__aarch64__)
      &kQGemmNeon, &kQGemmNeonDot,
#endif
  };
  return kernels;
}

const QGemmKernel& find_kernel(const std::string& name) {
  std::string known;
  for (const QGemmKernel* k : all_kernels()) {
    if (name == k->name) return *k;
    known += known.empty() ? k->name : cat(", ", k->name);
  }
  fail("find_kernel", "unknown qgemm kernel '", name, "' (this build has: ", known, ")");
}

const QGemmKernel& select_kernel(const std::string& forced) {
  if (!forced.empty()) {
    const QGemmKernel& kernel = find_kernel(forced);
    check(kernel.supported(), "qgemm_kernel", "QGRAD_KERNEL=", forced,
          " but this CPU does not support the '", forced, "' kernel");
    return kernel;
  }
  // Entries are ordered from plainest to fastest; the last supported one wins.
  const QGemmKernel* best = all_kernels().front();
  for (const QGemmKernel* k : all_kernels())
    if (k->supported()) best = k;
  return *best;
}

namespace {

const QGemmKernel& choose_kernel() {
  const char* env = std::getenv("QGRAD_KERNEL");
  const std::string forced = env ? env : "";
  const QGemmKernel& chosen = select_kernel(forced);
  if (const char* verbose = std::getenv("QGRAD_VERBOSE"); verbose && std::string(verbose) == "1")
    std::fprintf(stderr, "qgrad: qgemm kernel '%s' (%s)\n", chosen.name,
                 forced.empty() ? "best this CPU supports" : "forced by QGRAD_KERNEL");
  return chosen;
}

}  // namespace

const QGemmKernel& qgemm_kernel() {
  static const QGemmKernel& kernel = choose_kernel();
  return kernel;
}

}  // namespace qgrad::quant
