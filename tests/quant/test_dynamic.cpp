// Dynamic quantization (quant/intmodel/dynamic.h): the int32 accumulator against a scalar computation of
// the same quantize -> integer matmul math, the output against a double-precision dequantized
// reference, the error against the float layer within the step analysis, per-batch activation
// ranges, quantize_dynamic on an MLP, and misuse.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/autograd.h"
#include "nn/activations.h"
#include "nn/flatten.h"
#include "nn/linear.h"
#include "nn/sequential.h"
#include "qgrad.h"
#include "quant/intmodel/dynamic.h"
#include "quant/math/quantize.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

// x [n, in] with values in [lo, hi].
Tensor uniform(int64_t n, int64_t in, float lo, float hi, uint64_t seed) {
  Generator gen(seed);
  std::vector<float> v(static_cast<size_t>(n * in));
  for (auto& e : v) e = lo + (hi - lo) * gen.uniform();
  return from_vector(v, {n, in});
}

// The math of the header written out in scalars: q_x by the scalar quantize rule, the exact
// integer sum of (q_x - z_x) q_w, then y = s_x s_w[c] acc + b in double.
struct Reference {
  std::vector<int64_t> acc;
  std::vector<double> y;
};
Reference reference(const DynamicQuantLinear& layer, const Tensor& x, const QParams& x_qp) {
  const int64_t n = x.size(0), in = x.size(1), out = layer.options().out;
  const std::vector<float> xv = x.to_vector();
  const std::vector<int8_t> w = layer.qweight().to_vector<int8_t>();
  const std::vector<float> b = layer.bias().to_vector();
  const float s_x = x_qp.scale[0];
  const int32_t z_x = x_qp.zero_point[0];
  Reference r;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < out; ++c) {
      int64_t acc = 0;
      for (int64_t k = 0; k < in; ++k) {
        const float q = clamp_q(quantize_unclamped(xv[i * in + k], s_x, z_x), 0, 255);
        acc += (static_cast<int64_t>(q) - z_x) * w[c * in + k];
      }
      r.acc.push_back(acc);
      r.y.push_back(static_cast<double>(s_x) * layer.weight_qparams().scale[c] * static_cast<double>(acc) + b[c]);
    }
  return r;
}

}  // namespace

TEST_CASE("DynamicQuantLinear: int32 accumulator and output equal the scalar reference", "[quant]") {
  Generator gen(3);
  // in = 37 is not a multiple of any kernel's k group; out = 19 is not a multiple of its panel.
  nn::Linear lin({.in = 37, .out = 19}, gen);
  for (const QGemmKernel* kernel : all_kernels()) {
    if (!kernel->supported()) continue;
    INFO("kernel " << kernel->name);
    DynamicQuantLinear q(lin, *kernel);
    REQUIRE(q.qweight().dtype() == DType::Int8);
    REQUIRE(q.weight_qparams().channels() == 19);
    const Tensor x = uniform(13, 37, -2.f, 3.f, 4);
    const QParams x_qp = DynamicQuantLinear::input_qparams(x);
    CHECK(x_qp.zero_point[0] > 0);  // a range with negatives: the zero point is really used
    const Reference ref = reference(q, x, x_qp);

    const std::vector<int32_t> acc = q.accumulate(x, x_qp).to_vector<int32_t>();
    REQUIRE(acc.size() == ref.acc.size());
    for (size_t i = 0; i < acc.size(); ++i) REQUIRE(acc[i] == ref.acc[i]);

    const std::vector<float> y = q(x).to_vector();
    for (size_t i = 0; i < y.size(); ++i)
      REQUIRE(y[i] == Approx(ref.y[i]).epsilon(1e-6).margin(1e-6));
  }
}

TEST_CASE("DynamicQuantLinear: the per-batch range is the batch's min/max with zero exact", "[quant]") {
  const Tensor x = from_vector({-0.5f, 0.25f, 1.5f, 0.f, 0.75f, -0.1f}, {2, 3});
  const QParams qp = DynamicQuantLinear::input_qparams(x);
  CHECK(qp.scale[0] == Approx(2.0f / 255.f));
  CHECK(qp.zero_point[0] == std::lround(0.5 / (2.0 / 255.0)));
  CHECK(dequantize_value(static_cast<float>(qp.zero_point[0]), qp.scale[0], qp.zero_point[0]) == 0.f);
  // Positive-only input: the range is widened down to 0, so the zero point is 0.
  const QParams pos = DynamicQuantLinear::input_qparams(from_vector({0.5f, 2.f, 1.f}, {1, 3}));
  CHECK(pos.zero_point[0] == 0);
  CHECK(pos.scale[0] == Approx(2.f / 255.f));
}

TEST_CASE("DynamicQuantLinear: error against the float layer is within the quantization-step bound",
          "[quant]") {
  Generator gen(5);
  nn::Linear lin({.in = 64, .out = 32}, gen);
  DynamicQuantLinear q(lin);
  const Tensor x = uniform(20, 64, -1.f, 4.f, 6);
  const QParams x_qp = DynamicQuantLinear::input_qparams(x);
  NoGradGuard no_grad;
  const std::vector<float> y = q(x).to_vector(), yf = lin(x).to_vector();
  const std::vector<float> xv = x.to_vector(), w = lin.weight().to_vector();
  const float s_x = x_qp.scale[0];
  double worst_ratio = 0;
  for (int64_t i = 0; i < 20; ++i)
    for (int64_t c = 0; c < 32; ++c) {
      const double s_w = q.weight_qparams().scale[c];
      double bound = 0;
      for (int64_t k = 0; k < 64; ++k) {
        const double xhat = dequantize_value(quantize_unclamped(xv[i * 64 + k], s_x, x_qp.zero_point[0]),
                                             s_x, x_qp.zero_point[0]);
        bound += 0.5 * s_x * std::fabs(w[c * 64 + k]) + 0.5 * std::fabs(xhat) * s_w;
      }
      const double err = std::fabs(double(y[i * 32 + c]) - yf[i * 32 + c]);
      REQUIRE(err <= bound + 1e-5);
      worst_ratio = std::max(worst_ratio, err / bound);
    }
  // The bound is worst-case (all rounding errors aligned); real errors are well inside it but
  // not zero, so the layer really did quantize.
  CHECK(worst_ratio > 0.01);
  CHECK(worst_ratio < 0.5);
}

TEST_CASE("DynamicQuantLinear: each batch gets its own scale", "[quant]") {
  Generator gen(7);
  nn::Linear lin({.in = 16, .out = 8}, gen);
  DynamicQuantLinear q(lin);
  const Tensor row = uniform(1, 16, -1.f, 1.f, 8);
  // The same row, once with a neighbour of similar range and once with one 20x larger.
  const Tensor narrow = concat({row, uniform(1, 16, -1.f, 1.f, 9)}, 0);
  const Tensor wide = concat({row, uniform(1, 16, -20.f, 20.f, 10)}, 0);
  const QParams qn = DynamicQuantLinear::input_qparams(narrow), qw = DynamicQuantLinear::input_qparams(wide);
  CHECK(qw.scale[0] > 10 * qn.scale[0]);

  NoGradGuard no_grad;
  const std::vector<float> yf = lin(row).to_vector();
  const std::vector<float> yn = q(narrow).to_vector(), yw = q(wide).to_vector();
  const Reference rn = reference(q, narrow, qn), rw = reference(q, wide, qw);
  double err_n = 0, err_w = 0;
  for (size_t c = 0; c < 8; ++c) {
    REQUIRE(yn[c] == Approx(rn.y[c]).epsilon(1e-6).margin(1e-6));  // row 0 quantized with its batch's scale
    REQUIRE(yw[c] == Approx(rw.y[c]).epsilon(1e-6).margin(1e-6));
    err_n += std::fabs(yn[c] - yf[c]);
    err_w += std::fabs(yw[c] - yf[c]);
  }
  CHECK(yn != std::vector<float>(yw.begin(), yw.begin() + 8));
  CHECK(err_w > 3 * err_n);  // the coarse step of the wide batch costs the same row accuracy
}

TEST_CASE("quantize_dynamic: an MLP's Linears are replaced and predictions match float", "[quant]") {
  Generator gen(11);
  auto mlp = std::make_shared<nn::Sequential>(nn::Flatten(), nn::Linear({.in = 48, .out = 64}, gen), nn::ReLU(),
                                              nn::Linear({.in = 64, .out = 10}, gen));
  const std::vector<float> w_before = mlp->state_dict().at("1.weight").to_vector();
  auto dq = quantize_dynamic(*mlp);
  REQUIRE(dq->size() == 4);
  CHECK(dynamic_cast<DynamicQuantLinear*>((*dq)[1].get()) != nullptr);
  CHECK(dynamic_cast<DynamicQuantLinear*>((*dq)[3].get()) != nullptr);
  CHECK((*dq)[2] == (*mlp)[2]);  // other modules are shared, not copied
  CHECK(dq->parameters().empty());
  CHECK(mlp->state_dict().at("1.weight").to_vector() == w_before);

  const Tensor x = uniform(300, 48, -1.f, 1.f, 12).reshape({300, 3, 4, 4});
  NoGradGuard no_grad;
  mlp->eval();
  dq->eval();
  const std::vector<int32_t> pf = argmax((*mlp)(x), 1).to_vector<int32_t>();
  const std::vector<int32_t> pq = argmax((*dq)(x), 1).to_vector<int32_t>();
  int same = 0;
  for (size_t i = 0; i < pf.size(); ++i) same += pf[i] == pq[i];
  CHECK(same >= 290);
  CHECK(dynamic_cast<DynamicQuantLinear&>(*(*dq)[1]).weight_bytes() == 48 * 64 + 4 * 64 + 4 * 64);
}

TEST_CASE("DynamicQuantLinear: misuse fails with a clear message", "[quant]") {
  Generator gen(13);
  nn::Linear lin({.in = 6, .out = 4}, gen);
  DynamicQuantLinear q(lin);
  CHECK_THROWS_WITH(q(uniform(2, 6, -1.f, 1.f, 1).reshape({2, 3, 2})), Contains("expects a float32 input [N, 6]"));
  CHECK_THROWS_WITH(q(uniform(2, 5, -1.f, 1.f, 1)), Contains("got [2, 5]"));
  Tensor x = uniform(2, 6, -1.f, 1.f, 1);
  x.requires_grad_();
  CHECK_THROWS_WITH(q(x), Contains("inference only"));
  NoGradGuard no_grad;
  CHECK(q(x).shape() == Shape{2, 4});  // without grad mode the same input is fine
}
