// Times each rung of the GPU integer GEMM ladder (quant/kernels/cuda/qgemm_cuda.h) next to
// cuBLASLt's int8 matmul, on 4096^3 and on convolution-shaped GEMMs, and relates both to the
// GPU's int8 tensor-core peak.
//   shape MxKxN: A [M, K] uint8 x B [K, N] int8 -> C [M, N] int32 (the rows "... +requant" write
//   uint8 through the fused requantization epilogue instead)
//   TOP/s = 2 M K N / seconds / 1e12 (a multiply-add is 2 ops)
//   "% cuBLASLt" = the rung's TOP/s over cuBLASLt's on the same shape (cuBLASLt multiplies int8 by
//   int8, it has no uint8 x int8 form; A is drawn from [0, 127] so both read the same bytes as the
//   same values, and every rung's int32 output must equal cuBLASLt's before any time counts)
//   "% peak" = over the dense int8 tensor-core peak, SMs x clock x 8192 ops (sm_90; see
//   quant/kernels/cuda/cuda_bench.h; H200 datasheet: 1979 TOP/s)
// Timing: CUDA events around back-to-back calls (enough calls for ~100 ms, at least 1), the
// methods alternated round by round (5 rounds) so clock and thermal drift hit every method alike;
// the best round is reported.
//   usage: bench_cuda_kernels [--json FILE] [--quick]   (--quick: 4096^3 only, 2 rounds)
// Exits 77 printing "skipped: no CUDA device" where no GPU is visible.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/backend/cuda_device.h"
#include "quant/kernels/cuda/cuda_bench.h"
#include "quant/kernels/cuda/qgemm_cuda.h"

using namespace qgrad;
using namespace qgrad::quant;

namespace {

struct GemmShape {
  const char* what;
  int64_t m, k, n;
};

struct Method {
  std::string name;
  std::function<void()> run;
  double best_ms = 1e30;
  int calls = 1;
};

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json_path = argv[++i];
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: bench_cuda_kernels [--json FILE] [--quick]\n");
      return 2;
    }
  }
  if (cuda_device_count() == 0) {
    std::printf("skipped: no CUDA device\n");
    return 77;
  }
  const cuda::DeviceInfo dev = cuda::device_info();
  std::printf("device: %s (sm_%d%d), %d SMs at %.2f GHz, int8 tensor-core peak %.0f TOP/s%s\n", dev.name.c_str(),
              dev.major, dev.minor, dev.sms, dev.clock_ghz, dev.int8_peak_tops,
              dev.int8_peak_tops > 0 ? "" : " (not known for this architecture)");

  std::vector<GemmShape> shapes = {{"square 4096^3", 4096, 4096, 4096}};
  if (!quick) {
    shapes.push_back({"conv3x3 56x56x64, batch 32", 32 * 56 * 56, 576, 64});
    shapes.push_back({"conv3x3 28x28x128, batch 32", 32 * 28 * 28, 1152, 128});
    shapes.push_back({"conv3x3 14x14x256, batch 32", 32 * 14 * 14, 2304, 256});
    shapes.push_back({"Linear 1024->1024, batch 256", 256, 1024, 1024});
  }
  const int rounds = quick ? 2 : 5;

  nlohmann::json out;
  out["device"] = dev.name;
  out["sm"] = dev.major * 10 + dev.minor;
  out["int8_peak_tops"] = dev.int8_peak_tops;
  out["rounds"] = rounds;
  out["shapes"] = nlohmann::json::array();
  std::mt19937 rng(1);

  for (const GemmShape& s : shapes) {
    std::vector<uint8_t> a(static_cast<size_t>(s.m * s.k));
    std::vector<int8_t> w(static_cast<size_t>(s.n * s.k));
    for (auto& v : a) v = static_cast<uint8_t>(rng() % 128);
    for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    const cuda::DeviceB b = cuda::DeviceB::from_weight(w.data(), s.n, s.k);
    cuda::DeviceBuffer da = cuda::to_device(a), dw = cuda::to_device(w);
    const size_t c_elems = static_cast<size_t>(s.m * s.n);
    cuda::DeviceBuffer dc32(c_elems * sizeof(int32_t)), dc8(c_elems), dlt(c_elems * sizeof(int32_t));
    std::vector<int32_t> mult(static_cast<size_t>(s.n)), shift(static_cast<size_t>(s.n));
    for (int64_t j = 0; j < s.n; ++j) {
      int sh = 0;
      quantize_multiplier(1.0 / (2000.0 + static_cast<double>(j)), &mult[static_cast<size_t>(j)], &sh);
      shift[static_cast<size_t>(j)] = sh;
    }
    const cuda::DeviceRequant rq(Requantization{mult.data(), shift.data(), true, 128, 0, 255}, s.n);
    cuda::CublasLtInt8Gemm lt(s.m, s.n, s.k, reinterpret_cast<const int8_t*>(da.as<uint8_t>()), dw.as<int8_t>(),
                              dlt.as<int32_t>());

    auto gemm = [&](cuda::Rung rung, bool requant) {
      cuda::CudaQGemmArgs args;
      args.m = s.m;
      args.a = da.as<uint8_t>();
      args.lda = s.k;
      args.b = &b;
      args.ldc = s.n;
      if (requant) {
        args.c_u8 = dc8.as<uint8_t>();
        args.requant = &rq;
      } else {
        args.c_s32 = dc32.as<int32_t>();
      }
      cuda::qgemm_cuda(rung, args);
    };

    // Correctness first: every rung's int32 output equals cuBLASLt's.
    lt.run();
    std::vector<int32_t> want(c_elems), got(c_elems);
    dlt.download(want.data(), want.size() * sizeof(int32_t));
    std::vector<Method> methods;
    methods.push_back({"cuBLASLt int8", [&] { lt.run(); }});
    for (cuda::Rung rung : cuda::all_rungs()) {
      std::fill(got.begin(), got.end(), 0);
      dc32.upload(got.data(), got.size() * sizeof(int32_t));
      gemm(rung, false);
      dc32.download(got.data(), got.size() * sizeof(int32_t));
      if (got != want) {
        std::fprintf(stderr, "%s: rung %s differs from cuBLASLt, not timing it\n", s.what, cuda::rung_name(rung));
        return 1;
      }
      methods.push_back({cuda::rung_name(rung), [&gemm, rung] { gemm(rung, false); }});
    }
    methods.push_back({"tensor_core +requant", [&gemm] { gemm(cuda::Rung::TensorCore, true); }});

    // calls per timing: ~100 ms from one warm-up call
    for (Method& m : methods) {
      const double once = cuda::time_ms(m.run, 1);
      m.calls = std::clamp(static_cast<int>(100.0 / std::max(once, 1e-3)), 1, 200);
    }
    for (int r = 0; r < rounds; ++r)
      for (Method& m : methods) m.best_ms = std::min(m.best_ms, cuda::time_ms(m.run, m.calls));

    const double ops = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.k) * static_cast<double>(s.n);
    const double lt_tops = ops / (methods[0].best_ms * 1e-3) / 1e12;
    std::printf("\n%s: M %lld, K %lld, N %lld\n%-22s %10s %9s %11s %8s\n", s.what, static_cast<long long>(s.m),
                static_cast<long long>(s.k), static_cast<long long>(s.n), "method", "ms", "TOP/s", "% cuBLASLt",
                "% peak");
    nlohmann::json rows = nlohmann::json::array();
    for (const Method& m : methods) {
      const double tops = ops / (m.best_ms * 1e-3) / 1e12;
      const double of_peak = dev.int8_peak_tops > 0 ? 100.0 * tops / dev.int8_peak_tops : 0;
      std::printf("%-22s %10.3f %9.2f %10.1f%% %7.1f%%\n", m.name.c_str(), m.best_ms, tops, 100.0 * tops / lt_tops,
                  of_peak);
      rows.push_back({{"method", m.name},
                      {"ms", m.best_ms},
                      {"tops", tops},
                      {"fraction_of_cublaslt", tops / lt_tops},
                      {"fraction_of_peak", dev.int8_peak_tops > 0 ? nlohmann::json(tops / dev.int8_peak_tops)
                                                                 : nlohmann::json(nullptr)}});
    }
    out["shapes"].push_back({{"what", s.what}, {"m", s.m}, {"k", s.k}, {"n", s.n}, {"methods", rows}});
  }
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << out.dump(2) << "\n";
    std::printf("\nwrote %s\n", json_path.c_str());
  }
  return 0;
}
