// cross_entropy and mse_loss: against double-precision references (also on huge logits and a
// transposed input), gradients, and every input check.
#include <catch2/catch.hpp>

#include <cmath>

#include "support/grad_check.h"
#include "support/reference.h"

using namespace qgrad;
using testing::full_jacobian_check;
using testing::grad_check;
using testing::param;

namespace {

Tensor random_targets(int64_t n, int64_t c, uint64_t seed) {
  Generator gen(seed);
  std::vector<int32_t> t(n);
  for (auto& v : t) v = static_cast<int32_t>(gen.below(c));
  return from_vector(t, {n});
}

// mean_n (log sum_c e^x[n, c] - x[n, t_n]) in double, and its gradient (softmax - onehot) / N.
struct CrossEntropyRef {
  double loss = 0;
  std::vector<double> grad;
};

CrossEntropyRef ref_cross_entropy(const Tensor& logits, const Tensor& targets) {
  const int64_t n = logits.size(0), c = logits.size(1);
  std::vector<double> x = testing::values(logits);
  std::vector<int32_t> t = targets.to_vector<int32_t>();
  CrossEntropyRef r;
  r.grad.resize(x.size());
  for (int64_t i = 0; i < n; ++i) {
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < c; ++j) m = std::max(m, x[i * c + j]);
    for (int64_t j = 0; j < c; ++j) s += std::exp(x[i * c + j] - m);
    r.loss += (m + std::log(s) - x[i * c + t[i]]) / static_cast<double>(n);
    for (int64_t j = 0; j < c; ++j)
      r.grad[i * c + j] = (std::exp(x[i * c + j] - m) / s - (j == t[i] ? 1.0 : 0.0)) / static_cast<double>(n);
  }
  return r;
}

}  // namespace

TEST_CASE("cross_entropy: matches a double-precision reference", "[core]") {
  Generator gen(41);
  Tensor logits = mul(randn({6, 5}, gen), 2.f);
  Tensor t = random_targets(6, 5, 42);
  CrossEntropyRef want = ref_cross_entropy(logits, t);
  CHECK(cross_entropy(logits, t).item() == Approx(want.loss).epsilon(1e-6));

  // Non-contiguous logits.
  Tensor lt = mul(randn({5, 6}, gen), 2.f).t();
  REQUIRE_FALSE(lt.is_contiguous());
  CHECK(cross_entropy(lt, t).item() == Approx(ref_cross_entropy(lt, t).loss).epsilon(1e-6));

  // Large batch (the kernels' OpenMP path).
  Tensor big = randn({512, 100}, gen);
  Tensor bt = random_targets(512, 100, 43);
  CHECK(cross_entropy(big, bt).item() == Approx(ref_cross_entropy(big, bt).loss).epsilon(1e-6));
}

TEST_CASE("cross_entropy: large logits match the double reference", "[core]") {
  Generator gen(44);
  // Logits near +1000 and -1000: e^x overflows float and double alike unless shifted.
  Tensor logits = add(mul(randn({8, 10}, gen), 3.f), 1000.f);
  std::vector<float> v = logits.to_vector();
  for (size_t i = 0; i < v.size(); i += 3) v[i] -= 2000.f;
  logits = from_vector(v, {8, 10});
  Tensor t = random_targets(8, 10, 45);
  CrossEntropyRef want = ref_cross_entropy(logits, t);
  Tensor p = logits.clone().requires_grad_();
  Tensor loss = cross_entropy(p, t);
  REQUIRE(std::isfinite(loss.item()));
  CHECK(loss.item() == Approx(want.loss).epsilon(1e-6));
  loss.backward();
  std::vector<float> g = p.grad().to_vector();
  for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(want.grad[i]).margin(1e-6));

  // A target whose logit is 2000 below the row maximum: loss ~ 2000, still exact to float.
  Tensor x2 = from_vector<float>({1000, -1000, 0, 999}, {2, 2});
  Tensor t2 = from_vector<int32_t>({1, 1}, {2});
  CHECK(cross_entropy(x2, t2).item() == Approx((2000.0 + std::log1p(std::exp(-2000.0)) +
                                                std::log1p(std::exp(-999.0))) / 2).epsilon(1e-7));
}

TEST_CASE("cross_entropy: gradient is (softmax - onehot) / N", "[grad]") {
  Generator gen(46);
  Tensor logits = randn({4, 3}, gen).requires_grad_();
  Tensor t = random_targets(4, 3, 47);
  cross_entropy(logits, t).backward(scalar_tensor(2.5f));
  CrossEntropyRef want = ref_cross_entropy(logits, t);
  std::vector<float> g = logits.grad().to_vector();
  for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(2.5 * want.grad[i]).margin(1e-6));

  auto f = [t](const std::vector<Tensor>& in) { return cross_entropy(in[0], t); };
  grad_check(f, {param({4, 3}, 48)});
  full_jacobian_check(f, {param({4, 3}, 49)});
  // Non-contiguous logits, and cross_entropy as one step of a longer chain.
  grad_check([t](const std::vector<Tensor>& in) { return cross_entropy(in[0].t(), t); }, {param({3, 4}, 50)});
  grad_check([t](const std::vector<Tensor>& in) { return mul(cross_entropy(mul(in[0], in[0]), t), 3.f); },
             {param({4, 3}, 51)});
}

TEST_CASE("mse_loss: value and gradients of both inputs", "[core][grad]") {
  Generator gen(52);
  Tensor a = randn({3, 4}, gen), b = randn({4, 3}, gen).t();  // b non-contiguous
  std::vector<double> av = testing::values(a), bv = testing::values(b);
  double want = 0;
  for (size_t i = 0; i < av.size(); ++i) want += (av[i] - bv[i]) * (av[i] - bv[i]) / av.size();
  CHECK(mse_loss(a, b).item() == Approx(want).epsilon(1e-6));
  CHECK(mse_loss(a, b).shape() == Shape{});

  auto f = [](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1]); };
  grad_check(f, {param({3, 4}, 53), param({3, 4}, 54)});
  full_jacobian_check(f, {param({2, 3}, 55), param({2, 3}, 56)});
  grad_check([](const std::vector<Tensor>& in) { return mse_loss(in[0].t(), in[1]); },
             {param({4, 3}, 57), param({3, 4}, 58)});
}

TEST_CASE("losses: errors name the op and the problem", "[core]") {
  Tensor logits = randn({3, 4});
  Tensor t = from_vector<int32_t>({0, 3, 1}, {3});
  CHECK_THROWS_WITH(cross_entropy(randn({3, 4, 2}), t),
                    Catch::Contains("qgrad::cross_entropy") && Catch::Contains("logits must be [N, C], got shape [3, 4, 2]"));
  CHECK_THROWS_WITH(cross_entropy(logits, from_vector<int32_t>({0, 1, 2}, {3, 1})),
                    Catch::Contains("targets must be [N] class indices, got shape [3, 1]"));
  CHECK_THROWS_WITH(cross_entropy(logits, from_vector<int32_t>({0, 1}, {2})),
                    Catch::Contains("logits [3, 4] have 3 rows but targets [2] have 2"));
  CHECK_THROWS_WITH(cross_entropy(logits, from_vector<int8_t>({0, 1, 2}, {3})),
                    Catch::Contains("targets must be int32") && Catch::Contains("int8"));
  CHECK_THROWS_WITH(cross_entropy(logits, from_vector<float>({0, 1, 2}, {3})),
                    Catch::Contains("targets must be int32") && Catch::Contains("float32"));
  CHECK_THROWS_WITH(cross_entropy(logits, from_vector<int32_t>({0, 4, 1}, {3})),
                    Catch::Contains("target 4 at position 1 is outside [0, 4)"));
  CHECK_THROWS_WITH(cross_entropy(logits, from_vector<int32_t>({0, 1, -1}, {3})),
                    Catch::Contains("target -1 at position 2 is outside [0, 4)"));
  CHECK_THROWS_WITH(cross_entropy(zeros({0, 4}), from_vector<int32_t>({}, {0})),
                    Catch::Contains("the batch is empty"));
  CHECK_THROWS_WITH(cross_entropy(from_vector<int32_t>({0, 1}, {1, 2}), from_vector<int32_t>({0}, {1})),
                    Catch::Contains("qgrad::cross_entropy") && Catch::Contains("expects float32"));
  CHECK_THROWS_WITH(cross_entropy(logits, Tensor()), Catch::Contains("targets are undefined"));

  CHECK_THROWS_WITH(mse_loss(randn({2, 3}), randn({3, 2})),
                    Catch::Contains("qgrad::mse_loss") && Catch::Contains("pred [2, 3] and target [3, 2]"));
  CHECK_THROWS_WITH(mse_loss(randn({3}), randn({1, 3})), Catch::Contains("pred [3] and target [1, 3]"));
  CHECK_THROWS_WITH(mse_loss(zeros({0}), zeros({0})), Catch::Contains("qgrad::mse_loss") && Catch::Contains("empty"));
  CHECK_THROWS_WITH(mse_loss(randn({2}), from_vector<int8_t>({1, 2}, {2})), Catch::Contains("expects float32"));
}
