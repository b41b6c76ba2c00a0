// BatchNorm against a naive per-channel reference written here, PyTorch's running-statistics
// rule, eval mode, and gradient checks in training mode.
#include <catch2/catch.hpp>

#include <cmath>

#include "nn_test_util.h"
#include "support/grad_check.h"

using namespace qgrad;

namespace {

// Per-channel mean and biased variance of x [N, C, S...] over every axis but 1, in double.
struct Stats {
  std::vector<double> mean, var;
  int64_t n = 0;
};
Stats channel_stats(const Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  const auto v = x.to_vector();
  Stats s{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0), N * S};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < S; ++i) s.mean[c] += v[(n * C + c) * S + i] / double(s.n);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < S; ++i) {
        double d = v[(n * C + c) * S + i] - s.mean[c];
        s.var[c] += d * d / double(s.n);
      }
  return s;
}

// y = (x - mean_c) / sqrt(var_c + eps) * gamma_c + beta_c, element by element.
std::vector<double> normalize(const Tensor& x, const std::vector<double>& mean,
                              const std::vector<double>& var, const std::vector<float>& gamma,
                              const std::vector<float>& beta, double eps) {
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  const auto v = x.to_vector();
  std::vector<double> y(v.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < S; ++i) {
        int64_t k = (n * C + c) * S + i;
        y[k] = (v[k] - mean[c]) / std::sqrt(var[c] + eps) * gamma[c] + beta[c];
      }
  return y;
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == Approx(want[i]).margin(tol));
  }
}

}  // namespace

TEST_CASE("BatchNorm2d train: batch statistics, running update with the unbiased variance", "[nn]") {
  Generator gen(3);
  Tensor x = add(mul(randn({4, 3, 2, 5}, gen), 2.f), 0.5f);
  nn::BatchNorm2d bn({.features = 3, .eps = 1e-3f, .momentum = 0.2f});
  {
    NoGradGuard no_grad;
    bn.state_dict().at("weight").copy_(from_vector<float>({1.5f, -0.5f, 2.f}, {3}));
    bn.state_dict().at("bias").copy_(from_vector<float>({0.1f, 0.2f, -0.3f}, {3}));
    bn.state_dict().at("running_mean").copy_(from_vector<float>({0.3f, -0.1f, 1.f}, {3}));
    bn.state_dict().at("running_var").copy_(from_vector<float>({2.f, 0.5f, 1.5f}, {3}));
  }
  Tensor y = bn(x);
  Stats s = channel_stats(x);
  REQUIRE(s.n == 40);
  check_close(y.to_vector(), normalize(x, s.mean, s.var, {1.5f, -0.5f, 2.f}, {0.1f, 0.2f, -0.3f}, 1e-3), 1e-4);
  // running = (1 - 0.2) running + 0.2 stat, with the variance made unbiased by n / (n - 1).
  const std::vector<double> rm0{0.3, -0.1, 1.0}, rv0{2.0, 0.5, 1.5};
  std::vector<double> rm, rv;
  for (int c = 0; c < 3; ++c) {
    rm.push_back(0.8 * rm0[c] + 0.2 * s.mean[c]);
    rv.push_back(0.8 * rv0[c] + 0.2 * s.var[c] * 40.0 / 39.0);
  }
  check_close(bn.running_mean().to_vector(), rm, 1e-5);
  check_close(bn.running_var().to_vector(), rv, 1e-5);

  // eval: normalizes with the running statistics and leaves them alone.
  bn.eval();
  Tensor x2 = randn({2, 3, 2, 2}, gen);
  check_close(bn(x2).to_vector(), normalize(x2, rm, rv, {1.5f, -0.5f, 2.f}, {0.1f, 0.2f, -0.3f}, 1e-3), 1e-4);
  check_close(bn.running_mean().to_vector(), rm, 1e-5);
}

TEST_CASE("BatchNorm1d accepts [N, C] and [N, C, L]; affine=false has no parameters", "[nn]") {
  Generator gen(5);
  nn::BatchNorm1d bn({.features = 4, .affine = false});
  CHECK(bn.parameters().empty());
  CHECK(bn.named_buffers().size() == 2);
  for (Shape shape : {Shape{6, 4}, Shape{3, 4, 5}}) {
    Tensor x = randn(shape, gen);
    Stats s = channel_stats(x);
    check_close(bn(x).to_vector(), normalize(x, s.mean, s.var, {1, 1, 1, 1}, {0, 0, 0, 0}, 1e-5), 1e-4);
  }
  // Two updates from the defaults (0, 1) with momentum 0.1.
  CHECK(bn.running_var().to_vector()[0] != 1.f);
}

TEST_CASE("BatchNorm rejects bad inputs and options with clear messages", "[nn]") {
  nn::BatchNorm2d bn({.features = 3});
  CHECK_THROWS_WITH(bn(zeros({2, 4, 3, 3})),
                    Catch::Contains("BatchNorm2d: expects input with 3 channels on axis 1 and rank 4, got [2, 4, 3, 3]"));
  CHECK_THROWS_WITH(bn(zeros({2, 3})), Catch::Contains("rank 4, got [2, 3]"));
  CHECK_THROWS_WITH(nn::BatchNorm1d({.features = 3})(zeros({2, 3, 4, 4})), Catch::Contains("rank 2 or 3"));
  CHECK_THROWS_WITH(bn(ones({1, 3, 1, 1})),
                    Catch::Contains("needs more than 1 value per channel in training, got input [1, 3, 1, 1]"));
  bn.eval();
  CHECK(bn(ones({1, 3, 1, 1})).shape() == Shape{1, 3, 1, 1});
  CHECK_THROWS_WITH(nn::BatchNorm2d({.features = 0}), Catch::Contains("features must be positive, got 0"));
  CHECK_THROWS_WITH(nn::BatchNorm2d({.features = 2, .momentum = 1.5f}), Catch::Contains("momentum must be in [0, 1]"));
}

TEST_CASE("BatchNorm gradients in training mode (input, weight, bias)", "[nn][grad]") {
  Generator gen(11);
  nn::BatchNorm2d bn2({.features = 2});
  Tensor weight = bn2.weight(), bias = bn2.bias();
  {
    NoGradGuard no_grad;
    weight.copy_(from_vector<float>({1.3f, -0.7f}, {2}));
    bias.copy_(from_vector<float>({0.2f, 0.4f}, {2}));
  }
  auto f2 = [&](const std::vector<Tensor>& in) { return bn2(in[0]); };
  testing::grad_check(f2, {testing::param({3, 2, 2, 2}, 21), weight, bias});

  nn::BatchNorm1d bn1({.features = 3});
  testing::full_jacobian_check([&](const std::vector<Tensor>& in) { return bn1(in[0]); },
                               {testing::param({4, 3}, 22), bn1.weight(), bn1.bias()});
  // Non-contiguous input (a transposed view).
  Tensor xt = testing::param({3, 5}, 23);
  testing::grad_check([&](const std::vector<Tensor>& in) { return bn1(in[0].t()); }, {xt});
}
