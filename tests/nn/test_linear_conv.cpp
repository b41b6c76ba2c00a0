// Linear, Conv2d, pooling layers and BasicBlock against naive loops written here, plus
// gradient checks through their parameters and inputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "nn_test_util.h"
#include "support/grad_check.h"

using namespace qgrad;

namespace {

void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-4) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == Approx(want[i]).margin(tol));
  }
}

// out[n, o, i, j] = b[o] + sum_{c in group, kh, kw} w[o, c', kh, kw] x[n, c, i s + kh d - p, j s + kw d - p]
std::vector<double> naive_conv(const Tensor& x, const Tensor& w, const Tensor& b,
                               const nn::Conv2dOptions& o, Shape& out_shape) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t O = w.size(0), Cg = w.size(1), K = w.size(2);
  const int64_t Ho = (H + 2 * o.padding - o.dilation * (K - 1) - 1) / o.stride + 1;
  const int64_t Wo = (W + 2 * o.padding - o.dilation * (K - 1) - 1) / o.stride + 1;
  out_shape = {N, O, Ho, Wo};
  const auto xv = x.to_vector(), wv = w.to_vector();
  const auto bv = b.defined() ? b.to_vector() : std::vector<float>(O, 0.f);
  std::vector<double> out;
  const int64_t Og = O / o.groups;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oc = 0; oc < O; ++oc)
      for (int64_t i = 0; i < Ho; ++i)
        for (int64_t j = 0; j < Wo; ++j) {
          double s = bv[oc];
          const int64_t g = oc / Og;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < K; ++kh)
              for (int64_t kw = 0; kw < K; ++kw) {
                int64_t h = i * o.stride + kh * o.dilation - o.padding;
                int64_t ww = j * o.stride + kw * o.dilation - o.padding;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                s += double(wv[((oc * Cg + c) * K + kh) * K + kw]) *
                     xv[((n * C + g * Cg + c) * H + h) * W + ww];
              }
          out.push_back(s);
        }
  (void)C;
  return out;
}

}  // namespace

TEST_CASE("Linear: y = x W^T + b, PyTorch-shaped parameters", "[nn]") {
  Generator gen(1);
  nn::Linear fc({.in = 3, .out = 2}, gen);
  CHECK(fc.weight().shape() == Shape{2, 3});
  CHECK(fc.bias().shape() == Shape{2});
  // PyTorch's default init: |w|, |b| <= 1 / sqrt(3)
  for (float v : fc.weight().to_vector()) CHECK(std::abs(v) <= 1.f / std::sqrt(3.f));
  Tensor x = from_vector<float>({1, 2, 3, -1, 0.5f, 2}, {2, 3});
  const auto w = fc.weight().to_vector(), b = fc.bias().to_vector(), xv = x.to_vector();
  std::vector<double> want;
  for (int n = 0; n < 2; ++n)
    for (int o = 0; o < 2; ++o) {
      double s = b[o];
      for (int i = 0; i < 3; ++i) s += double(xv[n * 3 + i]) * w[o * 3 + i];
      want.push_back(s);
    }
  check_close(fc(x).to_vector(), want);

  nn::Linear no_bias({.in = 3, .out = 4, .bias = false}, gen);
  CHECK(no_bias.named_parameters().size() == 1);
  CHECK_FALSE(no_bias.bias().defined());
  CHECK_THROWS_WITH(fc(zeros({2, 4})), Catch::Contains("Linear: expects input [N, 3], got [2, 4]"));
  CHECK_THROWS_WITH(nn::Linear({.in = 0, .out = 2}), Catch::Contains("in and out must be positive"));
}

TEST_CASE("Linear gradients reach the input, weight and bias", "[nn][grad]") {
  Generator gen(2);
  nn::Linear fc({.in = 4, .out = 3}, gen);
  auto f = [&](const std::vector<Tensor>& in) { return fc(in[0]); };
  testing::grad_check(f, {testing::param({5, 4}, 3), fc.weight(), fc.bias()});
  testing::full_jacobian_check(f, {testing::param({2, 4}, 4), fc.weight(), fc.bias()});
  // Non-contiguous input.
  testing::grad_check([&](const std::vector<Tensor>& in) { return fc(in[0].t()); },
                      {testing::param({4, 3}, 5)});
}

TEST_CASE("Conv2d matches a naive convolution (stride, padding, dilation, groups)", "[nn]") {
  Generator gen(6);
  for (nn::Conv2dOptions o : {nn::Conv2dOptions{.in = 2, .out = 3, .kernel = 3, .padding = 1},
                              nn::Conv2dOptions{.in = 4, .out = 6, .kernel = 3, .stride = 2,
                                                .padding = 2, .dilation = 2, .groups = 2},
                              nn::Conv2dOptions{.in = 3, .out = 2, .kernel = 1, .bias = false}}) {
    nn::Conv2d conv(o, gen);
    INFO(conv.options_str());
    CHECK(conv.weight().shape() == Shape{o.out, o.in / o.groups, o.kernel, o.kernel});
    Tensor x = randn({2, o.in, 7, 6}, gen);
    Shape out_shape;
    std::vector<double> want = naive_conv(x, conv.weight(), conv.bias(), o, out_shape);
    Tensor y = conv(x);
    CHECK(y.shape() == out_shape);
    check_close(y.to_vector(), want);
  }
  CHECK_THROWS_WITH(nn::Conv2d({.in = 3, .out = 4, .groups = 2}),
                    Catch::Contains("in=3 and out=4 must both be divisible by groups=2"));
  nn::Conv2d conv({.in = 3, .out = 4});
  CHECK_THROWS_WITH(conv(zeros({1, 2, 5, 5})), Catch::Contains("Conv2d: expects input [N, 3, H, W], got [1, 2, 5, 5]"));
}

TEST_CASE("Conv2d gradients reach the input, weight and bias", "[nn][grad]") {
  Generator gen(7);
  nn::Conv2d conv({.in = 2, .out = 2, .kernel = 3, .stride = 2, .padding = 1}, gen);
  testing::grad_check([&](const std::vector<Tensor>& in) { return conv(in[0]); },
                      {testing::param({2, 2, 5, 5}, 8), conv.weight(), conv.bias()});
}

TEST_CASE("Pooling layers match naive windows", "[nn]") {
  Generator gen(9);
  Tensor x = randn({2, 3, 4, 6}, gen);
  const auto xv = x.to_vector();
  auto at = [&](int64_t n, int64_t c, int64_t h, int64_t w) { return xv[((n * 3 + c) * 4 + h) * 6 + w]; };
  std::vector<double> mx, av, gap;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c) {
      double total = 0;
      for (int64_t h = 0; h < 4; ++h)
        for (int64_t w = 0; w < 6; ++w) total += at(n, c, h, w);
      gap.push_back(total / 24.0);
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 3; ++j) {
          double m = -1e30, s = 0;
          for (int64_t a = 0; a < 2; ++a)
            for (int64_t b = 0; b < 2; ++b) {
              m = std::max<double>(m, at(n, c, 2 * i + a, 2 * j + b));
              s += at(n, c, 2 * i + a, 2 * j + b);
            }
          mx.push_back(m);
          av.push_back(s / 4.0);
        }
    }
  Tensor ym = nn::MaxPool2d({.kernel = 2})(x);
  CHECK(ym.shape() == Shape{2, 3, 2, 3});
  check_close(ym.to_vector(), mx, 1e-6);
  check_close(nn::AvgPool2d({.kernel = 2})(x).to_vector(), av, 1e-6);
  Tensor yg = nn::GlobalAvgPool()(x);
  CHECK(yg.shape() == Shape{2, 3});
  check_close(yg.to_vector(), gap, 1e-6);
  CHECK(nn::GlobalAvgPool({.keepdim = true})(x).shape() == Shape{2, 3, 1, 1});
  CHECK_THROWS_WITH(nn::GlobalAvgPool()(zeros({2, 3})), Catch::Contains("GlobalAvgPool: expects input [N, C, H, W], got [2, 3]"));
  testing::grad_check([](const std::vector<Tensor>& in) { return nn::GlobalAvgPool()(in[0]); },
                      {testing::param({2, 2, 3, 3}, 10)});
}

TEST_CASE("BasicBlock: shapes, names, projection shortcut, gradient", "[nn]") {
  Generator gen(12);
  nn::BasicBlock same({.in = 4, .out = 4}, gen);
  CHECK(same.children().size() == 1);  // identity shortcut: body only
  nn::BasicBlock down({.in = 2, .out = 4, .stride = 2}, gen);
  std::vector<std::string> names;
  for (const auto& [name, t] : down.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"body.0.weight", "body.1.weight", "body.1.bias",
                                          "body.3.weight", "body.4.weight", "body.4.bias",
                                          "shortcut.0.weight", "shortcut.1.weight", "shortcut.1.bias"});
  Tensor x = randn({2, 2, 5, 5}, gen);
  Tensor y = down(x);
  CHECK(y.shape() == Shape{2, 4, 3, 3});
  // y = relu(body(x) + shortcut(x)), computed through the block's own children.
  const auto manual =
      relu(add((*down.children()[0].second)(x), (*down.children()[1].second)(x))).to_vector();
  check_close(y.to_vector(), std::vector<double>(manual.begin(), manual.end()), 1e-5);
  for (float v : y.to_vector()) CHECK(v >= 0.f);
  down.eval();
  testing::grad_check([&](const std::vector<Tensor>& in) { return down(in[0]); },
                      {testing::param({1, 2, 4, 4}, 13)});
}
