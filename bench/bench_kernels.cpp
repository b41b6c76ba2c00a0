// Times every qgemm kernel this CPU supports on the shapes qgrad's models run, next to OpenBLAS
// sgemm on the same shape, at 1 and 2 threads, and relates them to the measured int8 peak.
//   shape MxKxN: A [M, K] uint8 x B [K, N] int8 -> C [M, N], fused requantization to uint8
//   GOP/s = 2 M K N / seconds (a multiply-add is 2 ops); "peak" = the measured int8
//   multiply-add rate (bench/peak/) at the same thread count of the row's instruction set: the
//   avx2 kernels against vpmaddubsw + vpmaddwd, every other row against the best (vpdpbusd where
//   the CPU has AVX-512 VNNI).
//   "x sgemm" = the kernel's GOP/s over sgemm's on the same shape and thread count, same run.
//   "x oneDNN" = the same over oneDNN's u8 x s8 -> s32 matmul (bench/onednn/), where the build
//   found oneDNN (Debian: libdnnl-dev; "-" and JSON null otherwise). oneDNN writes int32 and
//   does no requantization, so it does less work than the qgemm rows (the epilogue weighs most
//   at small k); the row "<dispatched kernel>-s32" times qgrad with int32 output too, the
//   like-for-like comparison. oneDNN's output is checked against qgrad's ref kernel (c_s32
//   mode) on every shape before it counts.
//   usage: bench_kernels [--json FILE] [--threads N]   (default: 1 and 2 threads; `make
//   bench-kernels` runs it with OMP_WAIT_POLICY=passive, see the Makefile: spinning OpenMP
//   waiters wreck 2-thread timings on a loaded 2-core machine)
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench/peak/peak.h"
#if QGRAD_HAVE_ONEDNN
#include "bench/onednn/onednn_matmul.h"
#endif
#include "core/threads.h"
#include "quant/kernels/qgemm.h"

using namespace qgrad;
using namespace qgrad::quant;

namespace {

struct Shape {
  const char* what;
  int64_t m, k, n;
};

// Repeats f until 0.15 s have passed (at least twice, after one warm-up) and returns the best
// time of one call: the least disturbed run on a shared machine.
template <class F>
double best_seconds(F f) {
  f();
  double best = 1e30, total = 0;
  for (int r = 0; r < 2 || total < 0.15; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = t < best ? t : best;
    total += t;
  }
  return best;
}

// The measured peaks at one thread count: the AVX2 int8 peak (vpmaddubsw + vpmaddwd), the AVX2
// int16 one (vpmaddwd, what the avx2 kernel's route can reach) and the VNNI one (0 without it).
struct Peaks {
  double avx2 = 0, avx2_int16 = 0, vnni = 0;
  double best() const { return vnni > 0 ? vnni : avx2; }
  // A kernel's share of peak is against its own instruction set's int8 peak; ref, sgemm and
  // oneDNN against the machine's best.
  double for_kernel(const std::string& name) const { return name.rfind("avx2", 0) == 0 ? avx2 : best(); }
};

Peaks measure_peaks(int threads) {
  Peaks p;
#if defined(__x86_64__)
  p.avx2 = bench::peak_gops_avx2(threads);
  p.avx2_int16 = bench::peak_gops_avx2_int16(threads);
  p.vnni = bench::peak_gops_avx512vnni(threads);
#else
  (void)threads;
#endif
  return p;
}

#if QGRAD_HAVE_ONEDNN
// How many of oneDNN's int32 outputs on A, B (zero point za) differ from qgrad's ref kernel.
int64_t onednn_mismatches(const Shape& s, const std::vector<uint8_t>& a, const std::vector<int8_t>& b,
                          int32_t za, const bench::OneDnnMatmul& dnn) {
  const QGemmKernel& ref = find_kernel("ref");
  const PackedB packed = pack_b(ref, b.data(), s.k, s.n, s.n);
  std::vector<int32_t> want(static_cast<size_t>(s.m * s.n));
  qgemm(ref, {.m = s.m, .a = a.data(), .lda = s.k, .a_zero_point = za, .b = &packed, .c_s32 = want.data(),
              .ldc = s.n});
  int64_t wrong = 0;
  for (size_t i = 0; i < want.size(); ++i) wrong += dnn.c()[i] != want[i];
  return wrong;
}

// Times oneDNN's matmul on A, B (za = 128, as the qgemm rows) after checking its int32 output
// against qgrad's ref kernel on the same data: a baseline that computes something else is none.
// Without VNNI, oneDNN's gemm:jit multiplies with vpmaddubsw, whose int16 pair sums saturate on
// full-range data (255 * -128 * 2 < -32768), so there it is not exact: the check finds that, says
// so (*inexact counts the outputs that differ), and the timing and the check that must pass then
// use the weights halved to [-64, 63], where no pair sum saturates. The speed does not depend on
// the values; the qgemm rows are exact on full-range data.
double time_onednn(const Shape& s, const std::vector<uint8_t>& a, const std::vector<int8_t>& b,
                   std::string* impl, int64_t* inexact) {
  constexpr int32_t za = 128;
  *inexact = 0;
  std::vector<int8_t> b7;
  const std::vector<int8_t>* weights = &b;
  {
    bench::OneDnnMatmul dnn(s.m, s.k, s.n, a.data(), b.data(), za);
    dnn.run();
    *inexact = onednn_mismatches(s, a, b, za, dnn);
    if (*inexact > 0) {
      b7.resize(b.size());
      for (size_t i = 0; i < b.size(); ++i) b7[i] = static_cast<int8_t>(b[i] >> 1);
      weights = &b7;
    }
  }
  bench::OneDnnMatmul dnn(s.m, s.k, s.n, a.data(), weights->data(), za);
  if (impl->find(dnn.impl()) == std::string::npos) *impl += (impl->empty() ? "" : ", ") + std::string(dnn.impl());
  const double t = best_seconds([&] { dnn.run(); });
  if (const int64_t wrong = onednn_mismatches(s, a, *weights, za, dnn); wrong > 0) {
    std::fprintf(stderr, "oneDNN matmul (%s) differs from qgrad's ref kernel on %lldx%lldx%lld%s: %lld of %lld outputs\n",
                 dnn.impl(), static_cast<long long>(s.m), static_cast<long long>(s.k), static_cast<long long>(s.n),
                 weights == &b ? "" : " with weights in [-64, 63]", static_cast<long long>(wrong),
                 static_cast<long long>(s.m * s.n));
    std::exit(1);
  }
  return t;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  std::vector<int> thread_counts = {1, 2};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json_path = argv[++i];
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc && std::atoi(argv[i + 1]) >= 1) {
      thread_counts = {std::atoi(argv[++i])};
    } else {
      std::fprintf(stderr, "usage: %s [--json FILE] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  const std::vector<Shape> shapes = {
      {"MLP batch 64", 64, 784, 256},           {"MLP batch 1024", 1024, 784, 256},
      {"square", 256, 256, 256},                {"square", 1024, 1024, 1024},
      {"LeNet-5 conv1, batch 64", 64 * 28 * 28, 25, 6},
      {"LeNet-5 conv2, batch 64", 64 * 10 * 10, 150, 16},
      // The CIFAR CNN's convs (3x3, widths 32/64/128 at 32x32/16x16/8x8): the first, and the
      // second of each stage.
      {"CIFAR conv1, batch 64", 64 * 32 * 32, 27, 32},
      {"CIFAR conv2, batch 64", 64 * 32 * 32, 288, 32},
      {"CIFAR conv4, batch 64", 64 * 16 * 16, 576, 64},
      {"CIFAR conv6, batch 64", 64 * 8 * 8, 1152, 128},
  };
  std::mt19937 rng(1);
  nlohmann::json rows = nlohmann::json::array();
  // OpenBLAS picks its sgemm kernel by CPU model; a model newer than the library (or a VM that
  // hides it) gets a slower generic one, which OPENBLAS_CORETYPE overrides. Printed so the
  // "x sgemm" column can be read.
  std::printf("qgemm u8 x s8 -> u8 (fused requantization) vs OpenBLAS sgemm (core %s); dispatched kernel: %s\n",
              openblas_get_corename(), qgemm_kernel().name);
#if QGRAD_HAVE_ONEDNN
  std::printf("oneDNN %s matmul u8 x s8 -> s32 (src zero point, no requantization), checked against ref\n",
              bench::onednn_version());
#else
  std::printf("oneDNN: not built in (apt-get install libdnnl-dev, then re-run cmake, adds its column)\n");
#endif
  for (int threads : thread_counts) {
    set_num_threads(threads);
    const Peaks peaks = measure_peaks(threads);
    std::printf("\nthreads %d, measured int8 peaks: avx2 %.1f GOP/s (vpmaddwd int16 %.1f), avx512vnni ", threads,
                peaks.avx2, peaks.avx2_int16);
    if (peaks.vnni > 0)
      std::printf("%.1f GOP/s\n", peaks.vnni);
    else
      std::printf("- (not on this CPU)\n");
    std::printf("(\"of peak\": avx2 kernels against the avx2 peak, the others against the best)\n");
    std::printf("%-24s %-16s %-15s %9s %8s %8s %9s\n", "shape", "MxKxN", "kernel", "GOP/s", "of peak", "x sgemm",
                "x oneDNN");
    std::string onednn_impl;
    std::vector<std::pair<int64_t, int64_t>> onednn_inexact;  // (outputs, wrong) per shape where it saturated
    // All qgemm rows first, then all sgemm rows: interleaving them lets OpenBLAS's spinning
    // threads and OpenMP's compete for the same cores and measures that contention instead.
    std::vector<std::vector<std::pair<std::string, double>>> seconds(shapes.size());
    for (bool blas : {false, true}) {
      // The sgemm baseline runs OpenBLAS with its own pool at this thread count; qgrad keeps
      // OpenBLAS single-threaded otherwise (core/threads.h).
      openblas_set_num_threads(blas ? threads : 1);
      for (size_t si = 0; si < shapes.size(); ++si) {
        const Shape& s = shapes[si];
        std::vector<uint8_t> a(static_cast<size_t>(s.m * s.k));
        std::vector<int8_t> b(static_cast<size_t>(s.k * s.n));
        std::vector<uint8_t> c(static_cast<size_t>(s.m * s.n));
        for (auto& v : a) v = static_cast<uint8_t>(rng());
        for (auto& v : b) v = static_cast<int8_t>(rng());
        if (blas) {
          std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), cf(c.size());
          seconds[si].emplace_back("sgemm", best_seconds([&] {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(s.m), static_cast<int>(s.n),
                        static_cast<int>(s.k), 1.0f, af.data(), static_cast<int>(s.k), bf.data(),
                        static_cast<int>(s.n), 0.0f, cf.data(), static_cast<int>(s.n));
          }));
          continue;
        }
        std::vector<int32_t> bias(static_cast<size_t>(s.n), 1000), mult(static_cast<size_t>(s.n)),
            shift(static_cast<size_t>(s.n));
        for (size_t j = 0; j < mult.size(); ++j) {
          int sh = 0;
          quantize_multiplier(1e-3 * (1 + static_cast<double>(j % 7)), &mult[j], &sh);
          shift[j] = sh;
        }
        const Requantization rq{.multiplier = mult.data(), .shift = shift.data(), .per_channel = true,
                                .out_zero_point = 3, .qmin = 3, .qmax = 255};
        for (const QGemmKernel* kernel : all_kernels()) {
          if (!kernel->supported()) continue;
          if (std::string(kernel->name) == "ref" && s.m * s.k * s.n > 500'000'000) continue;  // seconds per call
          const PackedB packed = pack_b(*kernel, b.data(), s.k, s.n, s.n);
          const QGemmArgs args{.m = s.m, .a = a.data(), .lda = s.k, .a_zero_point = 128, .b = &packed,
                               .bias = bias.data(), .c_u8 = c.data(), .requant = &rq, .ldc = s.n};
          seconds[si].emplace_back(kernel->name, best_seconds([&] { qgemm(args); }));
        }
        {
          // The dispatched kernel once more with int32 output (bias added, no requantization):
          // the same work as the oneDNN row, so "x oneDNN" on this row compares like with like.
          const QGemmKernel& best = qgemm_kernel();
          const PackedB packed = pack_b(best, b.data(), s.k, s.n, s.n);
          std::vector<int32_t> c32(static_cast<size_t>(s.m * s.n));
          const QGemmArgs args{.m = s.m, .a = a.data(), .lda = s.k, .a_zero_point = 128, .b = &packed,
                               .bias = bias.data(), .c_s32 = c32.data(), .ldc = s.n};
          seconds[si].emplace_back(std::string(best.name) + "-s32", best_seconds([&] { qgemm(args); }));
        }
#if QGRAD_HAVE_ONEDNN
        // oneDNN runs on the same OpenMP pool as qgemm (Debian builds it with OpenMP), sized by
        // set_num_threads above, so it belongs to this pass rather than the OpenBLAS one.
        int64_t inexact = 0;
        seconds[si].emplace_back("oneDNN", time_onednn(s, a, b, &onednn_impl, &inexact));
        if (inexact > 0) onednn_inexact.emplace_back(s.m * s.n, inexact);
#endif
      }
    }
    openblas_set_num_threads(1);
    for (size_t si = 0; si < shapes.size(); ++si) {
      const Shape& s = shapes[si];
      const double ops = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.k) * static_cast<double>(s.n);
      char dims[48];
      std::snprintf(dims, sizeof dims, "%lldx%lldx%lld", static_cast<long long>(s.m), static_cast<long long>(s.k),
                    static_cast<long long>(s.n));
      double sgemm_seconds = 0, onednn_seconds = 0;
      for (const auto& [name, t] : seconds[si]) {
        if (name == "sgemm") sgemm_seconds = t;
        if (name == "oneDNN") onednn_seconds = t;
      }
      for (const auto& [name, t] : seconds[si]) {
        const double gops = ops / t * 1e-9, peak = peaks.for_kernel(name);
        char x_onednn[16] = "-";
        if (onednn_seconds > 0) std::snprintf(x_onednn, sizeof x_onednn, "%.2f", onednn_seconds / t);
        std::printf("%-24s %-16s %-15s %9.1f %7.0f%% %8.2f %9s\n", s.what, dims, name.c_str(), gops,
                    peak > 0 ? 100 * gops / peak : 0, sgemm_seconds / t, x_onednn);
        rows.push_back({{"shape", dims}, {"what", s.what}, {"kernel", name}, {"threads", threads},
                        {"gops", gops}, {"seconds", t}, {"peak_gops", peak},
                        {"onednn_gops", onednn_seconds > 0 ? nlohmann::json(ops / onednn_seconds * 1e-9) : nullptr},
                        {"x_onednn", onednn_seconds > 0 ? nlohmann::json(onednn_seconds / t) : nullptr}});
      }
    }
    if (!onednn_impl.empty()) {
      std::printf("oneDNN implementation: %s; equal to ref on every shape", onednn_impl.c_str());
      if (onednn_inexact.empty()) {
        std::printf(" (full-range data)\n");
      } else {
        int64_t outputs = 0, wrong = 0;
        for (const auto& [o, w] : onednn_inexact) outputs += o, wrong += w;
        std::printf(" with weights in [-64, 63]; on full-range weights it differed on %zu of %zu shapes\n"
                    "  (%lld of %lld outputs: int16 saturation of vpmaddubsw without VNNI), timed on the halved weights\n",
                    onednn_inexact.size(), shapes.size(), static_cast<long long>(wrong), static_cast<long long>(outputs));
      }
    }
  }
  if (!json_path.empty()) {
    std::ofstream(json_path) << rows.dump(2) << "\n";
    std::printf("\nwrote %s\n", json_path.c_str());
  }
}
