// The channels-last uint8 kernels behind the integer conv and max-pool layers (im2col_u8,
// max_pool2d_u8) against naive loops, on random non-zero data over swept ragged shapes (1..40
// channels, kernel rows of 1..200 bytes, strides, padding): exact equality, and no byte written
// outside the output (guard bytes after it stay untouched). The input buffers are sized exactly,
// so an over-long read past them shows up under the sanitizers (make test-sanitize).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "core/error.h"
#include "quant/kernels/im2col_u8.h"
#include "quant/kernels/max_pool2d_u8.h"

using namespace qgrad;
using namespace qgrad::quant;

namespace {
constexpr int64_t kGuard = 64;
constexpr uint8_t kGuardByte = 0xA5;

std::vector<uint8_t> random_bytes(int64_t n, std::mt19937& rng) {
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& b : v) b = static_cast<uint8_t>(1 + rng() % 255);  // non-zero: a zero fill would pass
  return v;
}

bool guard_intact(const std::vector<uint8_t>& out, int64_t used) {
  return std::all_of(out.begin() + used, out.end(), [](uint8_t b) { return b == kGuardByte; });
}

// A naive im2col: row (oy, ox), column (ky kW + kx) C + c, the zero point outside the image.
std::vector<uint8_t> naive_im2col(const std::vector<uint8_t>& img, const Im2colShape& s, uint8_t zp) {
  std::vector<uint8_t> out(static_cast<size_t>(s.rows() * s.cols()));
  for (int64_t oy = 0; oy < s.out_h(); ++oy)
    for (int64_t ox = 0; ox < s.out_w(); ++ox)
      for (int64_t ky = 0; ky < s.kernel_h; ++ky)
        for (int64_t kx = 0; kx < s.kernel_w; ++kx)
          for (int64_t c = 0; c < s.channels; ++c) {
            const int64_t y = oy * s.stride_h + ky - s.pad_h, x = ox * s.stride_w + kx - s.pad_w;
            const bool inside = y >= 0 && y < s.height && x >= 0 && x < s.width;
            out[static_cast<size_t>((oy * s.out_w() + ox) * s.cols() + (ky * s.kernel_w + kx) * s.channels + c)] =
                inside ? img[static_cast<size_t>((y * s.width + x) * s.channels + c)] : zp;
          }
  return out;
}

// A naive max pool: the max over the window's in-bounds pixels.
std::vector<uint8_t> naive_max_pool(const std::vector<uint8_t>& x, const MaxPoolShape& s) {
  const int64_t k = s.options.kernel, st = s.stride(), p = s.options.padding, c = s.channels;
  std::vector<uint8_t> out(static_cast<size_t>(s.batch * s.out_h() * s.out_w() * c));
  for (int64_t i = 0; i < s.batch; ++i)
    for (int64_t oy = 0; oy < s.out_h(); ++oy)
      for (int64_t ox = 0; ox < s.out_w(); ++ox)
        for (int64_t ch = 0; ch < c; ++ch) {
          int best = -1;
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t y = oy * st + ky - p, xx = ox * st + kx - p;
              if (y >= 0 && y < s.height && xx >= 0 && xx < s.width)
                best = std::max<int>(best, x[static_cast<size_t>(((i * s.height + y) * s.width + xx) * c + ch)]);
            }
          out[static_cast<size_t>(((i * s.out_h() + oy) * s.out_w() + ox) * c + ch)] = static_cast<uint8_t>(best);
        }
  return out;
}
}  // namespace

TEST_CASE("im2col_u8 equals a naive unrolling on swept ragged shapes, writing nothing past A", "[quant]") {
  std::mt19937 rng(11);
  int cases = 0;
  for (int64_t c : {1, 2, 3, 6, 7, 16, 40})
    for (int64_t k : {1, 2, 3, 5})
      for (int64_t stride : {1, 2, 3})
        for (int64_t pad : {0, 1, 2})
          for (int64_t hw : {1, 5, 9}) {
            const int64_t h = hw, w = hw + 2;  // not square
            if (h + 2 * pad < k) continue;
            const Im2colShape s{.channels = c, .height = h, .width = w, .kernel_h = k, .kernel_w = k,
                                .stride_h = stride, .stride_w = stride, .pad_h = pad, .pad_w = pad};
            const auto img = random_bytes(c * h * w, rng);
            const uint8_t zp = static_cast<uint8_t>(1 + rng() % 255);
            std::vector<uint8_t> got(static_cast<size_t>(s.rows() * s.cols() + kGuard), kGuardByte);
            im2col_u8(img.data(), s, zp, got.data());
            const auto want = naive_im2col(img, s, zp);
            INFO("C " << c << " k " << k << " stride " << stride << " pad " << pad << " H " << h << " W " << w);
            REQUIRE(std::equal(want.begin(), want.end(), got.begin()));
            REQUIRE(guard_intact(got, s.rows() * s.cols()));
            ++cases;
          }
  CHECK(cases == 672);  // the sweep ran (h + 2 pad < k skips a few)
}

TEST_CASE("im2col_u8: LeNet's two convs and unequal kernel sides and strides", "[quant]") {
  std::mt19937 rng(12);
  for (const Im2colShape& s :
       {Im2colShape{.channels = 1, .height = 28, .width = 28, .kernel_h = 5, .kernel_w = 5, .pad_h = 2, .pad_w = 2},
        Im2colShape{.channels = 6, .height = 14, .width = 14, .kernel_h = 5, .kernel_w = 5},
        Im2colShape{.channels = 5, .height = 7, .width = 6, .kernel_h = 3, .kernel_w = 2, .stride_h = 2,
                    .stride_w = 1, .pad_h = 0, .pad_w = 1},
        Im2colShape{.channels = 3, .height = 4, .width = 9, .kernel_h = 1, .kernel_w = 4, .stride_h = 1,
                    .stride_w = 3, .pad_h = 2, .pad_w = 0}}) {
    const auto img = random_bytes(s.channels * s.height * s.width, rng);
    std::vector<uint8_t> got(static_cast<size_t>(s.rows() * s.cols() + kGuard), kGuardByte);
    im2col_u8(img.data(), s, 9, got.data());
    const auto want = naive_im2col(img, s, 9);
    CHECK(std::equal(want.begin(), want.end(), got.begin()));
    CHECK(guard_intact(got, s.rows() * s.cols()));
  }
}

TEST_CASE("max_pool2d_u8 equals a naive max pool on swept ragged shapes, writing nothing past y", "[quant]") {
  std::mt19937 rng(13);
  int cases = 0;
  for (int64_t c : {1, 3, 6, 16, 17, 40})
    for (int64_t k : {1, 2, 3})
      for (int64_t stride : {0, 1, 2, 3})
        for (int64_t pad = 0; pad < k; ++pad)
          for (int64_t hw : {1, 4, 7}) {
            const MaxPoolShape s{.batch = 3, .height = hw, .width = hw + 1, .channels = c,
                                 .options = {.kernel = k, .stride = stride, .padding = pad}};
            if (hw + 2 * pad < k) continue;
            const auto x = random_bytes(s.batch * s.height * s.width * c, rng);
            const int64_t used = s.batch * s.out_h() * s.out_w() * c;
            std::vector<uint8_t> got(static_cast<size_t>(used + kGuard), kGuardByte);
            max_pool2d_u8(x.data(), s, got.data());
            const auto want = naive_max_pool(x, s);
            INFO("C " << c << " k " << k << " stride " << stride << " pad " << pad << " H " << hw);
            REQUIRE(std::equal(want.begin(), want.end(), got.begin()));
            REQUIRE(guard_intact(got, used));
            ++cases;
          }
  CHECK(cases > 200);  // the sweep ran
}

TEST_CASE("max_pool2d_u8: a large batch (the parallel path) and bad shapes", "[quant]") {
  std::mt19937 rng(14);
  const MaxPoolShape s{.batch = 256, .height = 28, .width = 28, .channels = 6, .options = {.kernel = 2}};
  const auto x = random_bytes(s.batch * s.height * s.width * s.channels, rng);
  std::vector<uint8_t> got(static_cast<size_t>(s.batch * 14 * 14 * 6));  // 2^20 window bytes: threads
  max_pool2d_u8(x.data(), s, got.data());
  CHECK(got == naive_max_pool(x, s));
  CHECK_THROWS_WITH(max_pool2d_u8(x.data(), {.height = 2, .width = 2, .options = {.kernel = 3}}, got.data()),
                    Catch::Contains("does not fit"));
  CHECK_THROWS_WITH(max_pool2d_u8(x.data(), {.options = {.kernel = 2, .padding = 2}}, got.data()),
                    Catch::Contains("padding must be below the kernel"));
}
