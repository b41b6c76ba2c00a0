// Times every qgemm kernel this CPU supports on the shapes qgrad's models run, next to OpenBLAS
// sgemm on the same shape, at 1 and 2 threads, and relates them to the measured int8 peak.
//   shape MxKxN: A [M, K] uint8 x B [K, N] int8 -> C [M, N], fused requantization to uint8
//   GOP/s = 2 M K N / seconds (a multiply-add is 2 ops); "peak" = the best measured int8
//   multiply-add rate of this machine (bench/peak/), at the same thread count.
//   "x sgemm" = the kernel's GOP/s over sgemm's on the same shape and thread count, same run.
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

double peak_gops(int threads) {
#if defined(__x86_64__)
  const double vnni = bench::peak_gops_avx512vnni(threads);
  return vnni > 0 ? vnni : bench::peak_gops_avx2(threads);
#else
  (void)threads;
  return 0;
#endif
}

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
  };
  std::mt19937 rng(1);
  nlohmann::json rows = nlohmann::json::array();
  std::printf("qgemm u8 x s8 -> u8 (fused requantization) vs OpenBLAS sgemm; dispatched kernel: %s\n",
              qgemm_kernel().name);
  for (int threads : thread_counts) {
    set_num_threads(threads);
    const double peak = peak_gops(threads);
#if defined(__x86_64__)
    std::printf("\nthreads %d, measured int8 peak %.1f GOP/s (vpmaddwd int16 peak %.1f)\n", threads, peak,
                bench::peak_gops_avx2_int16(threads));
#else
    std::printf("\nthreads %d, measured int8 peak %.1f GOP/s\n", threads, peak);
#endif
    std::printf("%-24s %-16s %-11s %9s %8s %8s\n", "shape", "MxKxN", "kernel", "GOP/s", "of peak", "x sgemm");
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
      }
    }
    openblas_set_num_threads(1);
    for (size_t si = 0; si < shapes.size(); ++si) {
      const Shape& s = shapes[si];
      const double ops = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.k) * static_cast<double>(s.n);
      char dims[48];
      std::snprintf(dims, sizeof dims, "%lldx%lldx%lld", static_cast<long long>(s.m), static_cast<long long>(s.k),
                    static_cast<long long>(s.n));
      double sgemm_seconds = 0;
      for (const auto& [name, t] : seconds[si])
        if (name == "sgemm") sgemm_seconds = t;
      for (const auto& [name, t] : seconds[si]) {
        const double gops = ops / t * 1e-9;
        std::printf("%-24s %-16s %-11s %9.1f %7.0f%% %8.2f\n", s.what, dims, name.c_str(), gops,
                    peak > 0 ? 100 * gops / peak : 0, sgemm_seconds / t);
        rows.push_back({{"shape", dims}, {"what", s.what}, {"kernel", name}, {"threads", threads},
                        {"gops", gops}, {"seconds", t}, {"peak_gops", peak}});
      }
    }
  }
  if (!json_path.empty()) {
    std::ofstream(json_path) << rows.dump(2) << "\n";
    std::printf("\nwrote %s\n", json_path.c_str());
  }
}
