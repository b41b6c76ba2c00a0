// bench_core: how close qgrad's matmul and conv2d forward come to raw OpenBLAS.
// For each shape it times the qgrad op and, in the same run right after it, raw
// cblas_sgemm on the GEMM the op reduces to (for conv2d: one [O, C k k] @ [C k k, Ho Wo] GEMM
// per image, over the batch, on pre-unfolded columns). GFLOP/s = 2 M N K / median seconds,
// after a warm-up, over repetitions filling ~0.25 s. Ratio = qgrad / raw: 1.0 means no
// framework overhead; conv2d's ratio includes im2col, which the raw row does not pay.
//   build/bench/bench_core [--json FILE]        threads: QGRAD_NUM_THREADS (default: all cores)
// On a machine shared with other busy processes, add OMP_WAIT_POLICY=passive: by default
// libgomp's threads spin at every barrier, and when a team-mate has been preempted the spinner
// burns the very core it needs, which makes conv2d (OpenMP over images) many times slower.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qgrad.h"

using namespace qgrad;

namespace {

using Clock = std::chrono::steady_clock;

struct Row {
  std::string op, shape;
  double gflop = 0, qgrad_gflops = 0, raw_gflops = 0;
};

double seconds_of(const std::function<void()>& f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median seconds of f over repetitions filling ~0.25 s, after a warm-up call.
double median_seconds(const std::function<void()>& f) {
  double once = seconds_of(f);                 // warm-up: allocations, thread pools
  once = std::max(once, seconds_of(f));
  const int reps = std::clamp(static_cast<int>(0.25 / std::max(once, 1e-6)), 5, 200);
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) t.push_back(seconds_of(f));
  return median(t);
}

// qgrad and raw are timed one after the other, not interleaved: a thread pool that has just
// finished (OpenBLAS's or OpenMP's) keeps spinning for a while and would slow the other down.
Row measure(std::string op, std::string shape, double flops, const std::function<void()>& qgrad_fn,
            const std::function<void()>& raw_fn) {
  const double tq = median_seconds(qgrad_fn), tr = median_seconds(raw_fn);
  return {std::move(op), std::move(shape), flops * 1e-9, flops * 1e-9 / tq, flops * 1e-9 / tr};
}

Row bench_matmul(int64_t m, int64_t k, int64_t n) {
  Generator gen(1);
  Tensor a = randn({m, k}, gen), b = randn({k, n}, gen);
  std::vector<float> c(m * n);
  const float *ad = a.data<float>(), *bd = b.data<float>();
  return measure("matmul", std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n), 2.0 * m * n * k,
                 [&] { Tensor y = matmul(a, b); },
                 [&] {
                   cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, ad, k, bd, n, 0.f,
                               c.data(), n);
                 });
}

Row bench_conv(const std::string& name, int64_t batch, int64_t c, int64_t hw, int64_t o, int64_t kernel,
               int64_t padding) {
  Generator gen(2);
  Tensor x = randn({batch, c, hw, hw}, gen), w = randn({o, c, kernel, kernel}, gen), bias = randn({o}, gen);
  const int64_t out_hw = hw + 2 * padding - kernel + 1, p = out_hw * out_hw, rows = c * kernel * kernel;
  Tensor cols = randn({batch, rows, p}, gen);
  std::vector<float> out(batch * o * p);
  const float *wd = w.data<float>(), *cd = cols.data<float>();
  char shape[96];
  std::snprintf(shape, sizeof shape, "N%lld %lld->%lld k%lld p%lld %lldx%lld", (long long)batch, (long long)c,
                (long long)o, (long long)kernel, (long long)padding, (long long)hw, (long long)hw);
  return measure(name, shape, 2.0 * batch * o * rows * p,
                 [&] { Tensor y = conv2d(x, w, bias, {.padding = padding}); },
                 [&] {
                   for (int64_t i = 0; i < batch; ++i)
                     cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, o, p, rows, 1.f, wd, rows,
                                 cd + i * rows * p, p, 0.f, out.data() + i * o * p, p);
                 });
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      std::cerr << "usage: " << argv[0] << " [--json FILE]\n";
      return 2;
    }
  }
  const int threads = get_num_threads();
  std::printf("bench_core: %d thread(s) (QGRAD_NUM_THREADS), OpenBLAS %s\n", threads, openblas_get_config());
  std::printf("%-14s %-28s %9s %12s %12s %7s\n", "op", "shape (MxKxN / conv)", "GFLOP", "qgrad GF/s",
              "sgemm GF/s", "ratio");
  NoGradGuard no_grad;
  std::vector<Row> rows;
  auto emit = [&](Row r) {
    std::printf("%-14s %-28s %9.3f %12.2f %12.2f %7.3f\n", r.op.c_str(), r.shape.c_str(), r.gflop, r.qgrad_gflops,
                r.raw_gflops, r.qgrad_gflops / r.raw_gflops);
    std::fflush(stdout);
    rows.push_back(std::move(r));
  };
  for (auto [m, k, n] : {std::tuple{64, 784, 256}, {1024, 784, 256}, {512, 512, 512}, {1024, 1024, 1024}})
    emit(bench_matmul(m, k, n));
  emit(bench_conv("conv lenet1", 64, 1, 28, 6, 5, 2));
  emit(bench_conv("conv lenet2", 64, 6, 14, 16, 5, 0));
  emit(bench_conv("conv cifar1", 64, 3, 32, 32, 3, 1));
  emit(bench_conv("conv cifar2", 64, 32, 16, 64, 3, 1));
  emit(bench_conv("conv cifar3", 64, 64, 8, 128, 3, 1));
  if (!json_path.empty()) {
    nlohmann::json j;
    j["threads"] = threads;
    for (const Row& r : rows)
      j["rows"].push_back({{"op", r.op}, {"shape", r.shape}, {"gflop", r.gflop}, {"qgrad_gflops", r.qgrad_gflops},
                           {"raw_sgemm_gflops", r.raw_gflops}, {"ratio", r.qgrad_gflops / r.raw_gflops}});
    std::ofstream f(json_path);
    if (!f) {
      std::cerr << "bench_core: cannot write " << json_path << "\n";
      return 1;
    }
    f << j.dump(2) << "\n";
  }
  return 0;
}
