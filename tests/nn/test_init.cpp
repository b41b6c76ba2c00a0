// Initializers: fans, gains, the bounds/standard deviations of each scheme, determinism.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "nn_test_util.h"

using namespace qgrad;
namespace init = qgrad::nn::init;

namespace {
struct Moments {
  double mean = 0, std = 0;
  float lo = 0, hi = 0;
};
Moments moments(const Tensor& t) {
  auto v = t.to_vector();
  Moments m;
  for (float x : v) m.mean += x / double(v.size());
  for (float x : v) m.std += (x - m.mean) * (x - m.mean) / double(v.size());
  m.std = std::sqrt(m.std);
  m.lo = *std::min_element(v.begin(), v.end());
  m.hi = *std::max_element(v.begin(), v.end());
  return m;
}
}  // namespace

TEST_CASE("init: fans and gains", "[nn]") {
  CHECK(init::fans(zeros({8, 3})).in == 3);
  CHECK(init::fans(zeros({8, 3})).out == 8);
  CHECK(init::fans(zeros({16, 4, 3, 3})).in == 36);   // 4 * 3 * 3
  CHECK(init::fans(zeros({16, 4, 3, 3})).out == 144); // 16 * 3 * 3
  CHECK_THROWS_WITH(init::fans(zeros({5})), Catch::Contains("needs a weight with at least 2 axes, got [5]"));
  CHECK(init::gain(init::Nonlinearity::ReLU) == Approx(std::sqrt(2.0)));
  CHECK(init::gain(init::Nonlinearity::Tanh) == Approx(5.0 / 3.0));
  CHECK(init::gain(init::Nonlinearity::Linear) == 1.f);
  CHECK(init::gain(init::Nonlinearity::LeakyReLU, std::sqrt(5.f)) == Approx(std::sqrt(2.0 / 6.0)));
}

TEST_CASE("init: kaiming and xavier have the stated bounds and spread", "[nn]") {
  Generator gen(1);
  Tensor w = empty({256, 128});  // fan_in 128, fan_out 256
  init::kaiming_uniform_(w, gen);
  // bound = sqrt(2) * sqrt(3 / 128) = 0.2165; std = bound / sqrt(3) = 0.125
  Moments m = moments(w);
  CHECK(m.hi <= 0.2166f);
  CHECK(m.lo >= -0.2166f);
  CHECK(m.hi > 0.21f);
  CHECK(m.std == Approx(0.125).epsilon(0.02));
  CHECK(m.mean == Approx(0.0).margin(0.003));

  init::kaiming_normal_(w, gen, {.mode = init::FanMode::FanOut});
  CHECK(moments(w).std == Approx(std::sqrt(2.0 / 256.0)).epsilon(0.02));  // 0.0884

  init::xavier_uniform_(w, gen);
  const double xb = std::sqrt(6.0 / 384.0);  // 0.125
  m = moments(w);
  CHECK(m.hi <= xb + 1e-6);
  CHECK(m.lo >= -xb - 1e-6);
  CHECK(m.std == Approx(xb / std::sqrt(3.0)).epsilon(0.02));

  init::xavier_normal_(w, gen, 2.f);
  CHECK(moments(w).std == Approx(2.0 * std::sqrt(2.0 / 384.0)).epsilon(0.02));
}

TEST_CASE("init: Linear/Conv2d defaults are PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in))", "[nn]") {
  Generator gen(2);
  Tensor w = empty({64, 4, 5, 5}), b = empty({64});  // fan_in 100, bound 0.1
  init::default_weight_(w, gen);
  init::default_bias_(b, w, gen);
  Moments mw = moments(w), mb = moments(b);
  CHECK(mw.hi <= 0.1f);
  CHECK(mw.lo >= -0.1f);
  CHECK(mw.hi > 0.099f);
  CHECK(mw.std == Approx(0.1 / std::sqrt(3.0)).epsilon(0.03));
  CHECK(mb.hi <= 0.1f);
  CHECK(mb.lo >= -0.1f);
}

TEST_CASE("init: the same seed gives the same weights", "[nn]") {
  Generator g1(42), g2(42), g3(43);
  Tensor a = empty({3, 7}), b = empty({3, 7}), c = empty({3, 7});
  init::kaiming_uniform_(a, g1);
  init::kaiming_uniform_(b, g2);
  init::kaiming_uniform_(c, g3);
  CHECK(a.to_vector() == b.to_vector());
  CHECK(a.to_vector() != c.to_vector());
}
