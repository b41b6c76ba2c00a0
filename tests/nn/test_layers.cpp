// Stateless layers against hand-computed values: activations, Flatten, Dropout, Residual.
#include <catch2/catch.hpp>

#include <cmath>

#include "nn_test_util.h"
#include "support/grad_check.h"

using namespace qgrad;

TEST_CASE("activation layers match their formulas", "[nn]") {
  const std::vector<float> xs{-2.f, -0.5f, 0.25f, 1.5f};
  Tensor x = from_vector(xs, {2, 2});
  auto apply = [&](nn::Module&& m) { return m(x).to_vector(); };
  std::vector<float> relu, leaky, sig, tanh_, gelu;
  for (float v : xs) {
    relu.push_back(v > 0 ? v : 0.f);
    leaky.push_back(v > 0 ? v : 0.2f * v);
    sig.push_back(1.f / (1.f + std::exp(-v)));
    tanh_.push_back(std::tanh(v));
    gelu.push_back(0.5f * v * (1.f + std::erf(v / std::sqrt(2.f))));
  }
  auto near = [](const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).margin(1e-6));
  };
  near(apply(nn::ReLU()), relu);
  near(apply(nn::LeakyReLU({.negative_slope = 0.2f})), leaky);
  near(apply(nn::Sigmoid()), sig);
  near(apply(nn::Tanh()), tanh_);
  near(apply(nn::GELU()), gelu);
  near(apply(nn::Identity()), xs);
}

TEST_CASE("Flatten merges the requested axes", "[nn]") {
  Tensor x = arange(0.f, 24.f).reshape({2, 3, 2, 2});
  CHECK(nn::Flatten()(x).shape() == Shape{2, 12});
  CHECK(nn::Flatten({.start = 0, .end = 1})(x).shape() == Shape{6, 2, 2});
  CHECK(nn::Flatten()(x).to_vector() == x.to_vector());
  // Non-contiguous input: values follow the logical (row-major) order of the view.
  Tensor xt = x.transpose(2, 3);
  CHECK(nn::Flatten()(xt).to_vector() == xt.to_vector());
}

TEST_CASE("Dropout: inverted scaling, keep rate, eval identity, determinism", "[nn]") {
  const float p = 0.3f;
  Generator gen(7);
  nn::Dropout drop({.p = p}, gen);
  Tensor x = add(mul(rand({200, 100}, gen), 2.f), 1.f);  // values in [1, 3), never zero
  Tensor y = drop(x);
  const auto xv = x.to_vector(), yv = y.to_vector();
  int64_t kept = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    if (yv[i] == 0.f) continue;
    ++kept;
    CHECK(yv[i] == Approx(xv[i] / (1.f - p)).epsilon(1e-6));
  }
  // 20000 Bernoulli(0.7) draws: std of the rate is sqrt(0.21 / 20000) ~ 0.0032; allow 5 sigma.
  const double rate = double(kept) / double(xv.size());
  CHECK(rate == Approx(0.7).margin(0.016));
  // Each call draws a fresh mask.
  CHECK(drop(x).to_vector() != yv);

  // Same seed, same masks.
  Generator g1(99), g2(99);
  nn::Dropout d1({.p = 0.5f}, g1), d2({.p = 0.5f}, g2);
  CHECK(d1(x).to_vector() == d2(x).to_vector());

  // Gradient: the same mask and scale as the forward.
  Tensor xg = x.detach().requires_grad_();
  Tensor out = d1(xg);
  sum(out).backward();
  const auto ov = out.to_vector(), gv = xg.grad().to_vector();
  for (size_t i = 0; i < gv.size(); ++i) CHECK(gv[i] == (ov[i] == 0.f ? 0.f : 2.f));

  drop.eval();
  CHECK(drop(x).to_vector() == xv);
  CHECK(nn::Dropout({.p = 0.f})(x).to_vector() == xv);
  for (float v : nn::Dropout({.p = 1.f})(x).to_vector()) CHECK(v == 0.f);
  CHECK_THROWS_WITH(nn::Dropout({.p = 1.5f}), Catch::Contains("Dropout: p must be in [0, 1], got 1.5"));
}

TEST_CASE("Residual adds the body to the identity or to a projection shortcut", "[nn]") {
  Tensor x = from_vector<float>({-1, 2, -3, 4}, {2, 2});
  nn::Residual identity{nn::ReLU()};
  CHECK(identity(x).to_vector() == std::vector<float>{-1, 4, -3, 8});  // relu(x) + x
  nn::Residual projected(nn::ReLU(), std::make_shared<testing::ScaleModule>(2, false));
  CHECK(projected(x).to_vector() == std::vector<float>{-2, 6, -6, 12});  // relu(x) + 2x
  CHECK(projected.named_parameters()[0].first == "shortcut.scale");

  nn::Residual mismatched(nn::Flatten({.start = 0}));
  CHECK_THROWS_WITH(mismatched(x), Catch::Contains("body output [4] and shortcut output [2, 2] differ"));

  // Gradient through both paths: d/dx (relu(x) + 2x) = [x > 0] + 2.
  testing::grad_check(
      [&](const std::vector<Tensor>& in) { return projected(in[0]); },
      {from_vector<float>({-1.5f, 0.7f, 2.f, -0.3f}, {2, 2}).requires_grad_()});
}
