// conv2d: forward against a naive 7-loop convolution (double accumulation), gradients against
// central differences for every option, determinism of the threaded weight gradient, errors.
#include <catch2/catch.hpp>

#include "support/grad_check.h"
#include "support/reference.h"

using namespace qgrad;
using testing::RefValue;

namespace {

Tensor random(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, gen);
}

std::vector<RefValue> naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dOptions& o) {
  const int64_t n_ = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t oc = w.size(0), cg = w.size(1), kh = w.size(2), kw = w.size(3);
  const int64_t og = oc / o.groups;
  const int64_t ho = (h + 2 * o.padding - o.dilation * (kh - 1) - 1) / o.stride + 1;
  const int64_t wo = (wd + 2 * o.padding - o.dilation * (kw - 1) - 1) / o.stride + 1;
  REQUIRE(c == cg * o.groups);
  std::vector<RefValue> out(n_ * oc * ho * wo);
  for (int64_t n = 0; n < n_; ++n)
    for (int64_t f = 0; f < oc; ++f)
      for (int64_t y = 0; y < ho; ++y)
        for (int64_t z = 0; z < wo; ++z) {
          RefValue& r = out[((n * oc + f) * ho + y) * wo + z];
          if (b.defined()) {
            r.value = b.at({f});
            r.magnitude = std::abs(r.value);
          }
          const int64_t group = f / og;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                int64_t ih = y * o.stride - o.padding + i * o.dilation;
                int64_t iw = z * o.stride - o.padding + j * o.dilation;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                double t = static_cast<double>(testing::strided_at(x, {n, group * cg + ci, ih, iw})) *
                           testing::strided_at(w, {f, ci, i, j});
                r.value += t;
                r.magnitude += std::abs(t);
              }
        }
  return out;
}

struct Case {
  Shape x, w;
  Conv2dOptions o;
  bool bias;
};

const std::vector<Case> kCases = {
    {{2, 3, 7, 9}, {4, 3, 3, 3}, {}, true},
    {{3, 2, 8, 8}, {5, 2, 3, 3}, {.stride = 2, .padding = 1}, true},
    {{2, 3, 9, 7}, {2, 3, 3, 3}, {.padding = 2, .dilation = 2}, false},
    {{4, 4, 6, 6}, {6, 2, 3, 3}, {.padding = 1, .groups = 2}, true},
    {{1, 3, 5, 5}, {4, 3, 1, 1}, {}, true},                       // 1x1: no unfolding
    {{2, 3, 5, 5}, {4, 3, 1, 1}, {.stride = 2}, false},           // 1x1 strided: unfolded
    {{2, 2, 6, 7}, {3, 2, 2, 3}, {.stride = 3, .padding = 1}, true},  // non-square kernel
    {{5, 1, 28, 28}, {6, 1, 5, 5}, {.padding = 2}, true},         // LeNet's first layer
    {{3, 6, 5, 5}, {6, 1, 3, 3}, {.padding = 1, .groups = 6}, true},  // depthwise
};

const testing::GradCheckOptions kLoose{.atol = 5e-3, .rtol = 3e-2};

}  // namespace

TEST_CASE("conv2d matches a naive convolution", "[core]") {
  uint64_t seed = 1;
  for (const Case& c : kCases) {
    INFO("x " << shape_str(c.x) << " w " << shape_str(c.w) << " stride " << c.o.stride << " padding "
              << c.o.padding << " dilation " << c.o.dilation << " groups " << c.o.groups);
    Tensor x = random(c.x, seed++), w = random(c.w, seed++);
    Tensor b = c.bias ? random({c.w[0]}, seed++) : Tensor();
    testing::check_close(conv2d(x, w, b, c.o), naive_conv2d(x, w, b, c.o));
  }
}

TEST_CASE("conv2d output shape follows the size formula", "[core]") {
  Tensor y = conv2d(random({2, 3, 10, 11}, 1), random({4, 3, 3, 3}, 2), Tensor(), {.stride = 2, .padding = 1, .dilation = 2});
  // Ho = (10 + 2 - 2*2 - 1) / 2 + 1 = 4,  Wo = (11 + 2 - 5) / 2 + 1 = 5
  CHECK(y.shape() == Shape{2, 4, 4, 5});
}

TEST_CASE("conv2d reads a non-contiguous input", "[core]") {
  Tensor nhwc = random({3, 6, 7, 4}, 1);
  Tensor x = nhwc.permute({0, 3, 1, 2});  // NCHW view of NHWC data
  REQUIRE(!x.is_contiguous());
  Tensor w = random({5, 4, 3, 3}, 2), b = random({5}, 3);
  Conv2dOptions o{.stride = 2, .padding = 1};
  testing::check_close(conv2d(x, w, b, o), naive_conv2d(x, w, b, o));
  testing::check_close(conv2d(x, w.transpose(2, 3).contiguous().transpose(2, 3), b, o), naive_conv2d(x, w, b, o));
}

TEST_CASE("conv2d weight gradient is deterministic", "[core]") {
  Tensor x = random({8, 3, 9, 9}, 1);
  Tensor w = random({4, 3, 3, 3}, 2).requires_grad_();
  Tensor v = random({8, 4, 9, 9}, 3);
  conv2d(x, w, Tensor(), {.padding = 1}).backward(v);
  std::vector<float> first = w.grad().to_vector();
  w.zero_grad();
  conv2d(x, w, Tensor(), {.padding = 1}).backward(v);
  CHECK(w.grad().to_vector() == first);
}

// The grouped path (several images per im2col buffer and GEMM) against the per-image one
// (images_per_gemm = 1), on ragged batches: groups that do not divide the batch nor the chunks
// the thread pool splits it into. Output, dx, dW and db agree to float rounding (the sums run in
// another order: a GEMM over k = n P against n GEMMs over P).
TEST_CASE("conv2d with several images per GEMM matches the per-image path", "[core]") {
  uint64_t seed = 300;
  struct Grouped {
    Case c;
    int64_t per_gemm;
  };
  const std::vector<Grouped> cases = {
      {{{7, 3, 7, 9}, {4, 3, 3, 3}, {}, true}, 3},
      {{{9, 2, 8, 8}, {5, 2, 3, 3}, {.stride = 2, .padding = 1}, true}, 4},
      {{{5, 3, 9, 7}, {2, 3, 3, 3}, {.padding = 2, .dilation = 2}, false}, 2},
      {{{11, 4, 6, 6}, {6, 2, 3, 3}, {.padding = 1, .groups = 2}, true}, 3},
      {{{6, 3, 5, 5}, {4, 3, 1, 1}, {}, true}, 4},  // 1x1: the images are unfolded (copied) once grouped
      {{{5, 2, 6, 7}, {3, 2, 2, 3}, {.stride = 3, .padding = 1}, true}, 5},
      {{{13, 6, 5, 5}, {6, 1, 3, 3}, {.padding = 1, .groups = 6}, false}, 6},  // depthwise
      {{{3, 3, 4, 4}, {4, 3, 3, 3}, {.padding = 1}, true}, 8},  // more per GEMM than the batch holds
  };
  for (const Grouped& t : cases) {
    const Case& c = t.c;
    INFO("x " << shape_str(c.x) << " w " << shape_str(c.w) << " stride " << c.o.stride << " padding " << c.o.padding
              << " groups " << c.o.groups << " images per GEMM " << t.per_gemm);
    const Tensor x0 = random(c.x, seed++), w0 = random(c.w, seed++);
    const Tensor b0 = c.bias ? random({c.w[0]}, seed++) : Tensor();
    Tensor v = random(conv2d(x0, w0, b0, c.o).shape(), seed++);
    std::vector<std::vector<float>> got[2];
    for (int64_t k = 0; k < 2; ++k) {
      Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_();
      Tensor b = c.bias ? b0.detach().requires_grad_() : Tensor();
      Tensor y = conv2d_images_per_gemm(x, w, b, c.o, k == 0 ? 1 : t.per_gemm);
      y.backward(v);
      got[k] = {y.to_vector(), x.grad().to_vector(), w.grad().to_vector(), c.bias ? b.grad().to_vector() : std::vector<float>{}};
    }
    for (size_t part = 0; part < 4; ++part) {
      INFO("part " << part << " (0 out, 1 dx, 2 dW, 3 db)");
      REQUIRE(got[0][part].size() == got[1][part].size());
      double worst = 0, scale = 0;
      for (size_t i = 0; i < got[0][part].size(); ++i) {
        worst = std::max(worst, std::abs(double(got[0][part][i]) - got[1][part][i]));
        scale = std::max(scale, std::abs(double(got[0][part][i])));
      }
      if (!got[0][part].empty()) CHECK(scale > 0.1);  // nothing trivially equal
      CHECK(worst <= 1e-4 * std::max(scale, 1.0));
    }
  }
}

TEST_CASE("conv2d gradients with several images per GEMM", "[grad]") {
  testing::grad_check([](const std::vector<Tensor>& t) { return conv2d_images_per_gemm(t[0], t[1], t[2], {.padding = 1}, 2); },
                      {testing::param({3, 2, 4, 5}, 11), testing::param({3, 2, 3, 3}, 12), testing::param({3}, 13)}, kLoose);
  testing::grad_check([](const std::vector<Tensor>& t) {
    return conv2d_images_per_gemm(t[0], t[1], Tensor(), {.stride = 2, .groups = 2}, 2);
  }, {testing::param({3, 4, 5, 5}, 14), testing::param({4, 2, 2, 2}, 15)}, kLoose);
}

TEST_CASE("conv2d_images_per_gemm rejects a count below 1", "[core]") {
  CHECK_THROWS_WITH(conv2d_images_per_gemm(random({1, 1, 3, 3}, 1), random({1, 1, 1, 1}, 2), Tensor(), {}, 0),
                    Catch::Contains("images per GEMM must be >= 1, got 0"));
}

TEST_CASE("conv2d gradients for every option", "[grad]") {
  uint64_t seed = 100;
  for (const Case& c : kCases) {
    if (numel(c.x) > 600) continue;  // keep finite differences quick
    INFO("x " << shape_str(c.x) << " w " << shape_str(c.w) << " stride " << c.o.stride << " padding "
              << c.o.padding << " dilation " << c.o.dilation << " groups " << c.o.groups);
    std::vector<Tensor> in{testing::param(c.x, seed++), testing::param(c.w, seed++)};
    if (c.bias) in.push_back(testing::param({c.w[0]}, seed++));
    Conv2dOptions o = c.o;
    testing::grad_check([o](const std::vector<Tensor>& t) {
      return conv2d(t[0], t[1], t.size() > 2 ? t[2] : Tensor(), o);
    }, in, kLoose);
  }
}

TEST_CASE("conv2d gradient with a non-contiguous input", "[grad]") {
  Tensor x = random({2, 5, 6, 3}, 1).permute({0, 3, 1, 2}).detach().requires_grad_();
  REQUIRE(!x.is_contiguous());
  testing::grad_check([](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2], {.stride = 2, .padding = 1}); },
                      {x, testing::param({4, 3, 3, 3}, 2), testing::param({4}, 3)}, kLoose);
}

TEST_CASE("conv2d full Jacobian on small shapes", "[grad]") {
  testing::full_jacobian_check([](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2], {.padding = 1}); },
                               {testing::param({2, 2, 3, 3}, 1), testing::param({2, 2, 2, 2}, 2), testing::param({2}, 3)}, kLoose);
  testing::full_jacobian_check([](const std::vector<Tensor>& t) {
    return conv2d(t[0], t[1], Tensor(), {.stride = 2, .dilation = 2, .groups = 2});
  }, {testing::param({1, 2, 5, 5}, 4), testing::param({2, 1, 2, 2}, 5)}, kLoose);
}

TEST_CASE("conv2d rejects bad inputs with clear messages", "[core]") {
  using Catch::Contains;
  Tensor x = random({2, 4, 8, 8}, 1), w = random({6, 4, 3, 3}, 2);
  CHECK_THROWS_WITH(conv2d(random({4, 8, 8}, 1), w), Contains("qgrad::conv2d: expects input [N, C, H, W], got shape [4, 8, 8]"));
  CHECK_THROWS_WITH(conv2d(x, random({6, 4, 3}, 2)), Contains("expects weight [O, C/groups, kH, kW], got shape [6, 4, 3]"));
  CHECK_THROWS_WITH(conv2d(x, random({6, 3, 3, 3}, 2)),
                    Contains("input [2, 4, 8, 8] has 4 channels but weight [6, 3, 3, 3] with groups 1 expects 3"));
  CHECK_THROWS_WITH(conv2d(x, random({6, 2, 3, 3}, 2), Tensor(), {.groups = 3}),
                    Contains("groups 3 must divide both the input channels 4 (input [2, 4, 8, 8]) and the output channels 6"));
  CHECK_THROWS_WITH(conv2d(x, random({5, 2, 3, 3}, 2), Tensor(), {.groups = 2}),
                    Contains("the output channels 5 (weight [5, 2, 3, 3])"));
  CHECK_THROWS_WITH(conv2d(x, w, Tensor(), {.stride = 0}), Contains("stride must be >= 1, got 0"));
  CHECK_THROWS_WITH(conv2d(x, w, Tensor(), {.padding = -1}), Contains("padding must be >= 0, got -1"));
  CHECK_THROWS_WITH(conv2d(x, w, Tensor(), {.dilation = 0}), Contains("dilation must be >= 1, got 0"));
  CHECK_THROWS_WITH(conv2d(x, w, Tensor(), {.groups = 0}), Contains("groups must be >= 1, got 0"));
  CHECK_THROWS_WITH(conv2d(x, w, random({5}, 3)), Contains("bias must have shape [6] to match weight [6, 4, 3, 3], got [5]"));
  CHECK_THROWS_WITH(conv2d(random({1, 4, 4, 4}, 1), w, Tensor(), {.dilation = 2}),
                    Contains("input [1, 4, 4, 4] padded by 0 is smaller than the kernel 3x3 dilated by 2 (5x5)"));
  CHECK_THROWS_WITH(conv2d(x.to(DType::Int8), w), Contains("qgrad::conv2d: expects float32"));
  CHECK_THROWS_WITH(conv2d(x, w, zeros({6}, DType::Int32)), Contains("qgrad::conv2d: expects float32"));
}
