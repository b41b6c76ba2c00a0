// The GPU integer kernels against the CPU specification, bit for bit (run only where a GPU is
// visible, see main.cpp):
//   every rung of the qgemm ladder on the CPU kernels' whole shape/value sweep
//   (tests/kernel/qgemm_sweep.h: ragged m, n, k, extreme values, zero points, strides, bias,
//   int32 and requantized output, per-tensor and per-channel) plus shapes across the GPU tiles
//   (16, 64, 128 rows/columns, k steps of 32 and 64) and k = 65536, the deepest allowed;
//   the tensor-core rung both with A as the sweep lays it out (any lda: copied to aligned rows)
//   and with 16-byte aligned rows (the direct cp.async path);
//   u8 im2col and max-pool against the CPU functions; argument errors.
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "kernel/qgemm_sweep.h"
#include "quant/kernels/cuda/qgemm_cuda.h"

using namespace qgrad;
using namespace qgrad::quant;

namespace {

// A rung as the sweep's kernel under test: B packed by ref, everything through the host wrapper.
testing::KernelUnderTest cuda_rung(cuda::Rung rung, bool align_a) {
  return [rung, align_a](const int8_t* b, int64_t k, int64_t n, int64_t ldb, QGemmArgs& args) {
    const PackedB packed = pack_b(find_kernel("ref"), b, k, n, ldb);
    args.b = &packed;
    if (!align_a) {
      cuda::qgemm_cuda_host(rung, args);
      return;
    }
    // The same A with rows 16-byte aligned (lda a multiple of 16).
    const int64_t lda = (k + 15) / 16 * 16;
    std::vector<uint8_t> a(static_cast<size_t>(args.m * lda), 0x77);
    for (int64_t i = 0; i < args.m; ++i)
      for (int64_t p = 0; p < k; ++p) a[static_cast<size_t>(i * lda + p)] = args.a[i * args.lda + p];
    QGemmArgs aligned = args;
    aligned.a = a.data();
    aligned.lda = lda;
    cuda::qgemm_cuda_host(rung, aligned);
  };
}

// Shapes around the GPU kernels' tiles: 16 (naive, tiled), 64 (dp4a; tensor-core k step), 128
// (tensor-core block) and the 32-byte k of one mma, each value below, at and past the edge.
std::vector<testing::SweepCase> gpu_cases() {
  std::vector<testing::SweepCase> cases;
  int fill = 0;
  for (int64_t m : {1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 257})
    for (int64_t n : {1, 7, 8, 9, 31, 33, 64, 127, 128, 129})
      for (int64_t k : {1, 4, 17, 31, 32, 33, 63, 64, 65, 100, 191, 192, 200})
        if ((m * 131 + n * 17 + k) % 5 == 0) cases.push_back({m, n, k, fill++ % 5});
  cases.push_back({300, 260, 1000, 0});
  cases.push_back({129, 257, 4099, 1});
  cases.push_back({256, 256, 256, 4});
  // the deepest k allowed, extreme values: sums near +-2^31 in the int32 accumulator
  cases.push_back({3, 5, kMaxQGemmDepth, 1});
  cases.push_back({2, 3, kMaxQGemmDepth, 2});
  cases.push_back({17, 9, kMaxQGemmDepth - 1, 4});
  return cases;
}

void check_sweep(const std::string& name, const testing::KernelUnderTest& kernel, const std::vector<testing::SweepCase>& cases,
                 uint64_t seed) {
  const testing::SweepResult r = testing::sweep(name, kernel, cases, seed);
  INFO(name << ": " << r.passed << " passed, first failure: " << r.first_failure);
  CHECK(r.failed == 0);
  CHECK(r.passed == static_cast<int>(2 * cases.size()));
}

}  // namespace

TEST_CASE("every CUDA qgemm rung equals ref on the CPU kernels' sweep", "[cuda][kernel]") {
  for (cuda::Rung rung : cuda::all_rungs()) {
    check_sweep(cuda::rung_name(rung), cuda_rung(rung, false), testing::sweep_cases(), 21);
  }
  check_sweep("tensor_core, aligned A", cuda_rung(cuda::Rung::TensorCore, true), testing::sweep_cases(), 22);
}

TEST_CASE("every CUDA qgemm rung equals ref on shapes across the GPU tiles and k = 65536", "[cuda][kernel]") {
  for (cuda::Rung rung : cuda::all_rungs()) {
    check_sweep(cuda::rung_name(rung), cuda_rung(rung, false), gpu_cases(), 31);
  }
  check_sweep("tensor_core, aligned A", cuda_rung(cuda::Rung::TensorCore, true), gpu_cases(), 32);
}

TEST_CASE("qgemm_cuda on device memory with uploaded weights equals ref", "[cuda][kernel]") {
  // The path the integer model takes: weight W [n, k] uploaded once as a DeviceB, A and C device
  // buffers, requantization uploaded once; n and k not multiples of anything.
  std::mt19937 rng(5);
  const int64_t m = 150, n = 37, k = 203;
  std::vector<uint8_t> a(static_cast<size_t>(m * k));
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  std::vector<int32_t> bias(static_cast<size_t>(n)), mult(static_cast<size_t>(n)), shift(static_cast<size_t>(n));
  for (auto& v : a) v = static_cast<uint8_t>(rng() % 256);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  for (auto& v : bias) v = static_cast<int32_t>(rng() % 20001) - 10000;
  for (int64_t j = 0; j < n; ++j) {
    int s = 0;
    quantize_multiplier(std::ldexp(1.0 + (rng() % 1000) / 1000.0, -12 - static_cast<int>(rng() % 4)),
                        &mult[static_cast<size_t>(j)], &s);
    shift[static_cast<size_t>(j)] = s;
  }
  Requantization rq{mult.data(), shift.data(), true, 113, 113, 255};
  const PackedB packed = pack_weight(find_kernel("ref"), w.data(), n, k);
  std::vector<uint8_t> want(static_cast<size_t>(m * n));
  qgemm(QGemmArgs{.m = m, .a = a.data(), .lda = k, .a_zero_point = 91, .b = &packed, .bias = bias.data(),
                  .c_u8 = want.data(), .requant = &rq, .ldc = n});

  const cuda::DeviceB b = cuda::DeviceB::from_weight(w.data(), n, k);
  const cuda::DeviceRequant drq(rq, n);
  cuda::DeviceBuffer da = cuda::to_device(a), dbias = cuda::to_device(bias), dc(static_cast<size_t>(m * n));
  for (cuda::Rung rung : cuda::all_rungs()) {
    cuda::CudaQGemmArgs args;
    args.m = m;
    args.a = da.as<uint8_t>();
    args.lda = k;
    args.a_zero_point = 91;
    args.b = &b;
    args.bias = dbias.as<int32_t>();
    args.c_u8 = dc.as<uint8_t>();
    args.requant = &drq;
    args.ldc = n;
    cuda::qgemm_cuda(rung, args);
    std::vector<uint8_t> got(static_cast<size_t>(m * n));
    dc.download(got.data(), got.size());
    INFO(cuda::rung_name(rung));
    CHECK(got == want);
  }
}

TEST_CASE("qgemm_cuda rejects bad arguments with a message", "[cuda][kernel]") {
  std::vector<int8_t> w(12, 1);
  const cuda::DeviceB b = cuda::DeviceB::from_weight(w.data(), 3, 4);
  cuda::DeviceBuffer da(8), dc(8 * sizeof(int32_t));
  std::vector<uint8_t> host_a(8, 1);
  cuda::CudaQGemmArgs args;
  args.m = 2;
  args.a = da.as<uint8_t>();
  args.lda = 4;
  args.b = &b;
  args.c_s32 = dc.as<int32_t>();
  args.ldc = 3;
  CHECK_NOTHROW(cuda::qgemm_cuda(cuda::Rung::Naive, args));
  auto bad = args;
  bad.lda = 3;
  CHECK_THROWS_WITH(cuda::qgemm_cuda(cuda::Rung::Naive, bad), Catch::Contains("lda = 3"));
  bad = args;
  bad.a = host_a.data();
  CHECK_THROWS_WITH(cuda::qgemm_cuda(cuda::Rung::TensorCore, bad), Catch::Contains("A is not a device pointer"));
  bad = args;
  bad.c_u8 = dc.as<uint8_t>();
  CHECK_THROWS_WITH(cuda::qgemm_cuda(cuda::Rung::Dp4a, bad), Catch::Contains("exactly one"));
  bad = args;
  bad.b = nullptr;
  CHECK_THROWS_WITH(cuda::qgemm_cuda(cuda::Rung::Tiled, bad), Catch::Contains("B is null"));
  CHECK_THROWS_WITH(cuda::DeviceB::from_weight(w.data(), 1, kMaxQGemmDepth + 1), Catch::Contains("exceeds"));
  CHECK_THROWS_WITH(cuda::find_rung("wmma"), Catch::Contains("tensor_core"));
  const int32_t mult = 1 << 30, shift = 40;
  CHECK_THROWS_WITH(cuda::DeviceRequant(Requantization{&mult, &shift, false, 0, 0, 255}, 3), Catch::Contains("shift[0]"));
}

TEST_CASE("CUDA im2col_u8 equals the CPU im2col exactly, padding with the zero point", "[cuda][kernel]") {
  std::mt19937 rng(9);
  struct Case {
    int64_t c, h, w, kh, kw, sh, sw, ph, pw, batch;
  };
  const Case cases[] = {{1, 28, 28, 5, 5, 1, 1, 0, 0, 3},  {6, 14, 14, 5, 5, 1, 1, 2, 2, 2},
                        {3, 7, 9, 3, 2, 2, 3, 1, 0, 4},    {16, 5, 5, 1, 1, 1, 1, 0, 0, 1},
                        {32, 8, 8, 3, 3, 2, 2, 1, 1, 2},   {5, 4, 6, 4, 6, 1, 1, 3, 2, 2}};
  for (const Case& cs : cases) {
    Im2colShape s{cs.c, cs.h, cs.w, cs.kh, cs.kw, cs.sh, cs.sw, cs.ph, cs.pw};
    std::vector<uint8_t> images(static_cast<size_t>(cs.batch * cs.h * cs.w * cs.c));
    for (auto& v : images) v = static_cast<uint8_t>(rng() % 256);
    const uint8_t zp = static_cast<uint8_t>(37 + cs.c);
    const size_t per_image = static_cast<size_t>(s.rows() * s.cols());
    std::vector<uint8_t> want(per_image * static_cast<size_t>(cs.batch));
    for (int64_t i = 0; i < cs.batch; ++i)
      im2col_u8(images.data() + i * cs.h * cs.w * cs.c, s, zp, want.data() + static_cast<size_t>(i) * per_image);
    std::vector<uint8_t> got(want.size(), 0);
    cuda::im2col_u8_cuda_host(images.data(), cs.batch, s, zp, got.data());
    INFO("C " << cs.c << " H " << cs.h << " W " << cs.w << " kernel " << cs.kh << "x" << cs.kw << " pad " << cs.ph);
    CHECK(got == want);
  }
  Im2colShape too_big{1, 2, 2, 5, 5, 1, 1, 0, 0};
  uint8_t dummy = 0;
  CHECK_THROWS_WITH(cuda::im2col_u8_cuda_host(&dummy, 1, too_big, 0, &dummy), Catch::Contains("larger than"));
}

TEST_CASE("CUDA max_pool2d_u8 equals the CPU max-pool exactly", "[cuda][kernel]") {
  std::mt19937 rng(10);
  struct Case {
    int64_t n, h, w, c, kernel, stride, padding;
  };
  const Case cases[] = {{3, 24, 24, 6, 2, 2, 0}, {2, 8, 8, 16, 2, 2, 0}, {2, 7, 9, 3, 3, 2, 1},
                        {1, 5, 5, 64, 3, 1, 1},  {4, 6, 5, 33, 2, 0, 1}, {2, 3, 3, 1, 3, 3, 2}};
  for (const Case& cs : cases) {
    MaxPoolShape s;
    s.batch = cs.n;
    s.height = cs.h;
    s.width = cs.w;
    s.channels = cs.c;
    s.options.kernel = cs.kernel;
    s.options.stride = cs.stride;
    s.options.padding = cs.padding;
    std::vector<uint8_t> x(static_cast<size_t>(cs.n * cs.h * cs.w * cs.c));
    for (auto& v : x) v = static_cast<uint8_t>(rng() % 256);
    x[0] = 0;  // a window whose real pixels are all small still must not be lifted by padding
    const size_t out = static_cast<size_t>(cs.n * s.out_h() * s.out_w() * cs.c);
    std::vector<uint8_t> want(out), got(out, 0);
    max_pool2d_u8(x.data(), s, want.data());
    cuda::max_pool2d_u8_cuda_host(x.data(), s, got.data());
    INFO("N " << cs.n << " H " << cs.h << " C " << cs.c << " kernel " << cs.kernel << " pad " << cs.padding);
    CHECK(got == want);
  }
  MaxPoolShape bad;
  bad.options.kernel = 2;
  bad.options.padding = 2;
  uint8_t dummy = 0;
  CHECK_THROWS_WITH(cuda::max_pool2d_u8_cuda_host(&dummy, bad, &dummy), Catch::Contains("padding"));
}
