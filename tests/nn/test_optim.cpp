// Optimizers against updates worked out by hand, and state_dict resume.
#include <catch2/catch.hpp>

#include "nn_test_util.h"

using namespace qgrad;

namespace {

// Sets p.grad to the given values (a fixed gradient, as if from a backward pass).
void set_grad(Tensor& p, const std::vector<float>& g) { p.set_grad(from_vector(g, p.shape())); }

void check_values(const Tensor& t, const std::vector<double>& want, double tol = 1e-6) {
  auto got = t.to_vector();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(tol));
}

}  // namespace

TEST_CASE("SGD: plain step p -= lr * g", "[nn]") {
  Tensor p = from_vector<float>({1, -2}, {2}).requires_grad_();
  optim::SGD opt({p}, {.lr = 0.5f});
  set_grad(p, {0.25f, -1.f});
  opt.step();
  check_values(p, {1 - 0.5 * 0.25, -2 + 0.5 * 1});  // [0.875, -1.5]
  opt.zero_grad();
  CHECK_FALSE(p.grad().defined());
  opt.step();  // no gradient: nothing moves
  check_values(p, {0.875, -1.5});
}

TEST_CASE("SGD: three steps of momentum + Nesterov + weight decay", "[nn]") {
  // lr 0.1, momentum 0.9, weight_decay 0.1, p0 = [1, -2], g = [0.5, 1] every step.
  Tensor p = from_vector<float>({1, -2}, {2}).requires_grad_();
  optim::SGD opt({p}, {.lr = 0.1f, .momentum = 0.9f, .nesterov = true, .weight_decay = 0.1f});
  // step 1: d = g + 0.1 p = [0.6, 0.8]; buf = d = [0.6, 0.8]
  //         u = d + 0.9 buf = [1.14, 1.52];  p = p - 0.1 u = [0.886, -2.152]
  set_grad(p, {0.5f, 1.f});
  opt.step();
  check_values(p, {0.886, -2.152});
  // step 2: d = [0.5886, 0.7848]; buf = 0.9 [0.6, 0.8] + d = [1.1286, 1.5048]
  //         u = d + 0.9 buf = [1.60434, 2.13912];  p = [0.725566, -2.365912]
  opt.step();
  check_values(p, {0.725566, -2.365912});
  // step 3: d = [0.5725566, 0.7634088]; buf = 0.9 buf + d = [1.5882966, 2.1177288]
  //         u = d + 0.9 buf = [2.00202354, 2.66936472];  p = [0.525363646, -2.632848472]
  opt.step();
  check_values(p, {0.525363646, -2.632848472});
  check_values(opt.state_dict().at("0.momentum_buffer"), {1.5882966, 2.1177288});
}

TEST_CASE("SGD: plain momentum with dampening", "[nn]") {
  // lr 1, momentum 0.5, dampening 0.5, g = 2 then 4.
  // step 1: buf = g = 2 (no dampening on the first step);  p = 0 - 2 = -2... from p0 = 10: 8
  // step 2: buf = 0.5 * 2 + (1 - 0.5) * 4 = 3;  p = 8 - 3 = 5
  Tensor p = from_vector<float>({10}, {1}).requires_grad_();
  optim::SGD opt({p}, {.lr = 1.f, .momentum = 0.5f, .dampening = 0.5f});
  set_grad(p, {2});
  opt.step();
  check_values(p, {8});
  set_grad(p, {4});
  opt.step();
  check_values(p, {5});
}

TEST_CASE("SGD: invalid options are rejected", "[nn]") {
  Tensor p = ones({2}).requires_grad_();
  CHECK_THROWS_WITH(optim::SGD({p}, {.nesterov = true}),
                    Catch::Contains("nesterov needs momentum > 0 and dampening 0"));
  CHECK_THROWS_WITH(optim::SGD({p}, {.lr = -1.f}), Catch::Contains("learning rate must be >= 0, got -1"));
  CHECK_THROWS_WITH(optim::SGD({}, {}), Catch::Contains("SGD: got an empty parameter list"));
  CHECK_THROWS_WITH(optim::SGD({p.unsqueeze(0).expand({3, 2})}, {}),
                    Catch::Contains("must be a defined, contiguous float32 tensor"));
}

TEST_CASE("Adam: first two steps by hand", "[nn]") {
  // lr 0.1, betas (0.9, 0.999), eps 1e-8; p0 = [1, -2]; g1 = [0.5, -1], g2 = [0.25, 2].
  Tensor p = from_vector<float>({1, -2}, {2}).requires_grad_();
  optim::Adam opt({p}, {.lr = 0.1f});
  // step 1: m = 0.1 g, v = 0.001 g^2 -> m/(1-0.9) = g, v/(1-0.999) = g^2: the step is lr * sign(g)
  set_grad(p, {0.5f, -1.f});
  opt.step();
  check_values(p, {0.9, -1.9});
  // step 2: m = 0.9 m + 0.1 g2 = [0.07, 0.11]; v = 0.999 v + 0.001 g2^2 = [0.00031225, 0.004999]
  //         bc1 = 1 - 0.81 = 0.19, bc2 = 1 - 0.998001 = 0.001999
  //         p -= 0.1 / 0.19 * m / (sqrt(v) / sqrt(0.001999) + 1e-8)
  //            = [0.9 - 0.093217960, -1.9 - 0.036610353] = [0.806782040, -1.936610353]
  set_grad(p, {0.25f, 2.f});
  opt.step();
  check_values(p, {0.8067820405, -1.9366103535}, 2e-6);
  auto sd = opt.state_dict();
  check_values(sd.at("0.exp_avg"), {0.07, 0.11});
  // float32 betas: 1 - 0.999f is 1.3e-5 off in relative terms, so compare relatively.
  auto v = sd.at("0.exp_avg_sq").to_vector();
  CHECK(v[0] == Approx(0.00031225).epsilon(1e-4));
  CHECK(v[1] == Approx(0.004999).epsilon(1e-4));
  CHECK(sd.at("0.step").to_vector<int32_t>() == std::vector<int32_t>{2});
}

TEST_CASE("Adam adds weight decay to the gradient; AdamW decays the weight", "[nn]") {
  // Same data, weight_decay 0.1.
  // Adam step 1: g' = g + 0.1 p = [0.6, -1.2] -> still lr * sign(g'): [0.9, -1.9]
  //      step 2: g' = [0.25 + 0.09, 2 - 0.19] = [0.34, 1.81]; m = [0.088, 0.073];
  //              v = [0.00047524, 0.00471466]; p = [0.805009766, -1.925017878]
  // AdamW step 1: p = p (1 - 0.1 * 0.1) = [0.99, -1.98], then - lr sign(g): [0.89, -1.88]
  //       step 2: p = 0.99 p = [0.8811, -1.8612], then the plain Adam step 2 update
  //               [-0.093217960, -0.036610353]: [0.787882040, -1.897810353]
  Tensor pa = from_vector<float>({1, -2}, {2}).requires_grad_();
  Tensor pw = from_vector<float>({1, -2}, {2}).requires_grad_();
  optim::Adam adam({pa}, {.lr = 0.1f, .weight_decay = 0.1f});
  optim::AdamW adamw({pw}, {.lr = 0.1f, .weight_decay = 0.1f});
  for (auto g : {std::vector<float>{0.5f, -1.f}, std::vector<float>{0.25f, 2.f}}) {
    set_grad(pa, g);
    set_grad(pw, g);
    adam.step();
    adamw.step();
  }
  check_values(pa, {0.8050097659, -1.9250178785}, 2e-6);
  check_values(pw, {0.7878820405, -1.8978103535}, 2e-6);
}

TEST_CASE("Optimizer state_dict resumes training exactly; strict loading", "[nn]") {
  auto run = [](optim::Optimizer& opt, Tensor& p, int from, int to) {
    for (int s = from; s < to; ++s) {
      set_grad(p, {0.3f * float(s + 1), -0.2f * float(s), 0.5f});
      opt.step();
    }
  };
  Tensor p1 = from_vector<float>({1, 2, 3}, {3}).requires_grad_();
  optim::Adam a1({p1}, {.lr = 0.05f});
  run(a1, p1, 0, 6);

  Tensor p2 = from_vector<float>({1, 2, 3}, {3}).requires_grad_();
  optim::Adam a2({p2}, {.lr = 0.05f});
  run(a2, p2, 0, 3);
  nn::StateDict saved = a2.state_dict();
  for (auto& [name, t] : saved) t = t.clone();
  Tensor p3 = p2.detach().clone().requires_grad_();
  optim::Adam a3({p3}, {.lr = 0.5f});
  a3.load_state_dict(saved);
  CHECK(a3.lr() == 0.05f);
  run(a3, p3, 3, 6);
  CHECK(p3.to_vector() == p1.to_vector());

  nn::StateDict missing = saved;
  missing.erase("0.exp_avg_sq");
  CHECK_THROWS_WITH(a3.load_state_dict(missing),
                    Catch::Contains("Adam::load_state_dict: missing tensor '0.exp_avg_sq'"));
  nn::StateDict extra = saved;
  extra["1.exp_avg"] = zeros({3});
  CHECK_THROWS_WITH(a3.load_state_dict(extra), Catch::Contains("unexpected tensor '1.exp_avg'"));
  nn::StateDict wrong = saved;
  wrong["0.exp_avg"] = zeros({4});
  CHECK_THROWS_WITH(a3.load_state_dict(wrong),
                    Catch::Contains("tensor '0.exp_avg' has shape [4] but the destination expects [3]"));

  // SGD without momentum keeps only the step counts and lr.
  optim::SGD sgd({p1}, {.lr = 0.1f});
  CHECK(sgd.state_dict().size() == 2);
}
