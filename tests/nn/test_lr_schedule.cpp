// LR schedules against values worked out by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "nn_test_util.h"

using namespace qgrad;

TEST_CASE("StepLR multiplies by gamma every step_size steps", "[nn]") {
  optim::StepLR s({.base_lr = 0.1f, .step_size = 3, .gamma = 0.5f});
  const float want[] = {0.1f, 0.1f, 0.1f, 0.05f, 0.05f, 0.05f, 0.025f};
  for (int t = 0; t < 7; ++t) CHECK(s.lr_at(t) == Approx(want[t]));
  CHECK_THROWS_WITH(s.lr_at(-1), Catch::Contains("StepLR::lr_at: step must be >= 0, got -1"));
  CHECK_THROWS_WITH(optim::StepLR({.step_size = 0}), Catch::Contains("needs step_size > 0"));
}

TEST_CASE("CosineAnnealing follows half a cosine from base_lr to eta_min", "[nn]") {
  optim::CosineAnnealing s({.base_lr = 1.f, .t_max = 4, .eta_min = 0.2f});
  // eta_min + (1 - 0.2) (1 + cos(pi t / 4)) / 2
  CHECK(s.lr_at(0) == Approx(1.0));
  CHECK(s.lr_at(1) == Approx(0.2 + 0.8 * (1 + std::sqrt(0.5)) / 2));  // 0.882843
  CHECK(s.lr_at(2) == Approx(0.6));
  CHECK(s.lr_at(3) == Approx(0.2 + 0.8 * (1 - std::sqrt(0.5)) / 2));  // 0.317157
  CHECK(s.lr_at(4) == Approx(0.2));
  CHECK(s.lr_at(10) == Approx(0.2));
}

TEST_CASE("LinearWarmup ramps up, then hands over to cosine", "[nn]") {
  optim::LinearWarmup s({.warmup = 4, .start_factor = 0.2f},
                        optim::CosineAnnealing({.base_lr = 0.5f, .t_max = 2}));
  // t < 4: 0.5 (0.2 + 0.8 t / 4) = 0.1, 0.2, 0.3, 0.4; then cosine(t - 4): 0.5, 0.25, 0
  const double want[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.25, 0.0, 0.0};
  for (int t = 0; t < 8; ++t) CHECK(s.lr_at(t) == Approx(want[t]).margin(1e-7));
}

TEST_CASE("A schedule drives an optimizer's lr through apply/step and resumes with set_t", "[nn]") {
  Tensor p = ones({1}).requires_grad_();
  optim::SGD opt({p}, {.lr = 123.f});
  optim::StepLR s({.base_lr = 0.1f, .step_size = 2, .gamma = 0.1f});
  s.apply(opt);
  CHECK(opt.lr() == Approx(0.1f));
  s.step(opt);
  CHECK(opt.lr() == Approx(0.1f));
  s.step(opt);
  CHECK(s.t() == 2);
  CHECK(opt.lr() == Approx(0.01f));
  optim::StepLR resumed({.base_lr = 0.1f, .step_size = 2, .gamma = 0.1f});
  resumed.set_t(4);
  resumed.apply(opt);
  CHECK(opt.lr() == Approx(0.001f));
  CHECK_THROWS_WITH(resumed.set_t(-2), Catch::Contains("step must be >= 0, got -2"));
}
