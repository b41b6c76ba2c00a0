// The fused batch norm (core/ops/normalization.h): gradients by central differences, and the
// fused CPU kernels against the reference composition of generic ops, in training and eval,
// affine or not, on shapes small enough for one thread and large enough for the thread pool.
#include <catch2/catch.hpp>

#include <cmath>

#include "support/grad_check.h"

using namespace qgrad;
using Catch::Contains;
using testing::full_jacobian_check;
using testing::grad_check;
using testing::param;
using In = std::vector<Tensor>;

namespace {

void check_same(const Tensor& got, const Tensor& want, double tol) {
  REQUIRE(got.shape() == want.shape());
  const std::vector<float> g = got.to_vector(), w = want.to_vector();
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i);
    CHECK(g[i] == Approx(w[i]).margin(tol).epsilon(tol));
  }
}

// Runs the op on fresh copies of the inputs, backward with cotangent v; returns {y, grads...}.
template <class Op>
std::vector<Tensor> forward_backward(Op op, const std::vector<Tensor>& inputs, const Tensor& v) {
  std::vector<Tensor> fresh;
  for (const Tensor& t : inputs) fresh.push_back(t.defined() ? t.detach().contiguous().requires_grad_() : Tensor());
  Tensor y = op(fresh);
  y.backward(v);
  std::vector<Tensor> out{y.detach()};
  for (const Tensor& t : fresh) if (t.defined()) out.push_back(t.grad());
  return out;
}

}  // namespace

TEST_CASE("batch_norm gradients (training and eval, affine and not)", "[grad]") {
  Tensor x = param({3, 4, 2, 3}, 71), w = param({4}, 72), b = param({4}, 73);
  Tensor mean = param({4}, 74).detach(), var = add(abs(param({4}, 75)), 0.5f).detach();
  grad_check([](const In& in) { return batch_norm_training(in[0], in[1], in[2], 1e-5f).y; }, {x, w, b});
  grad_check([](const In& in) { return batch_norm_training(in[0], Tensor(), Tensor(), 1e-3f).y; }, {x});
  grad_check([&](const In& in) { return batch_norm_eval(in[0], mean, var, in[1], in[2], 1e-5f); }, {x, w, b});
  // BatchNorm1d's [N, C]: the statistics run over the batch alone.
  full_jacobian_check([](const In& in) { return batch_norm_training(in[0], in[1], in[2], 1e-5f).y; },
                      {param({5, 2}, 76), param({2}, 77), param({2}, 78)});
}

TEST_CASE("fused batch_norm matches the reference composition, serial and threaded", "[core]") {
  const int before = get_num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    // [16, 24, 16, 16] (98k values) is large enough that channels and rows split across threads.
    for (const Shape& shape : {Shape{4, 3, 5, 7}, Shape{6, 5}, Shape{3, 4, 9}, Shape{16, 24, 16, 16}}) {
      INFO("threads " << threads << ", x " << shape_str(shape));
      const int64_t C = shape[1];
      Generator gen(80);
      Tensor x = add(mul(randn(shape, gen), 3.f), 2.f), w = randn({C}, gen), b = randn({C}, gen);
      Tensor v = randn(shape, gen);
      Tensor mean = randn({C}, gen), var = add(abs(randn({C}, gen)), 0.1f);
      for (bool affine : {true, false}) {
        const Tensor wa = affine ? w : Tensor(), ba = affine ? b : Tensor();
        auto fused = forward_backward([](const In& in) { return batch_norm_training(in[0], in[1], in[2], 1e-5f).y; },
                                      {x, wa, ba}, v);
        auto ref = forward_backward(
            [](const In& in) { return batch_norm_training_reference(in[0], in[1], in[2], 1e-5f).y; }, {x, wa, ba}, v);
        REQUIRE(fused.size() == ref.size());
        for (size_t i = 0; i < fused.size(); ++i) check_same(fused[i], ref[i], 1e-4);
        BatchNormOutput f = batch_norm_training(x, wa, ba, 1e-5f), r = batch_norm_training_reference(x, wa, ba, 1e-5f);
        check_same(f.mean, r.mean, 1e-5);
        check_same(f.var, r.var, 1e-4);

        auto fused_eval = forward_backward(
            [&](const In& in) { return batch_norm_eval(in[0], mean, var, in[1], in[2], 1e-5f); }, {x, wa, ba}, v);
        auto ref_eval = forward_backward(
            [&](const In& in) { return batch_norm_eval_reference(in[0], mean, var, in[1], in[2], 1e-5f); },
            {x, wa, ba}, v);
        for (size_t i = 0; i < fused_eval.size(); ++i) check_same(fused_eval[i], ref_eval[i], 1e-4);
      }
    }
  }
  set_num_threads(before);
}

TEST_CASE("batch_norm's statistics stay accurate far from zero", "[core]") {
  // mean 1000, spread 0.01: sum x^2 - (sum x)^2 / n about zero would lose every digit in float.
  Generator gen(81);
  Tensor x = add(mul(randn({64, 2, 8, 8}, gen), 0.01f), 1000.f);
  BatchNormOutput f = batch_norm_training(x, Tensor(), Tensor(), 1e-8f);
  BatchNormOutput r = batch_norm_training_reference(x, Tensor(), Tensor(), 1e-8f);
  check_same(f.var, r.var, 2e-3);
  CHECK(f.var.to_vector()[0] == Approx(1e-4).epsilon(0.05));
}

TEST_CASE("batch_norm rejects bad shapes with clear messages", "[core]") {
  CHECK_THROWS_WITH(batch_norm_training(ones({4}), Tensor(), Tensor(), 1e-5f), Contains("expects input [N, C, ...], got [4]"));
  CHECK_THROWS_WITH(batch_norm_training(ones({2, 3}), ones({4}), Tensor(), 1e-5f),
                    Contains("weight must be [3] for input [2, 3], got [4]"));
  CHECK_THROWS_WITH(batch_norm_training(ones({1, 3}), Tensor(), Tensor(), 1e-5f),
                    Contains("needs more than 1 value per channel"));
  CHECK_THROWS_WITH(batch_norm_eval(ones({2, 3}), zeros({2}), ones({3}), Tensor(), Tensor(), 1e-5f),
                    Contains("mean must be [3] for input [2, 3], got [2]"));
}
