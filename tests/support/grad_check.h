// The gradient checker every differentiable op is tested with.
//
// For f: inputs -> output, backward() computes the vector-Jacobian product  v^T J  for the
// cotangent v passed as the output's gradient. We check it against central differences in
// double precision:
//   d/dx_i <v, f(x)>  ~=  (<v, f(x + h e_i)> - <v, f(x - h e_i)>) / 2h
// with a *random* cotangent v, which tests every row of J at once through one scalar.
// The forward runs in float32, so the differences are formed from float32 outputs summed in
// double; h = 1e-3 balances truncation error (~h^2) against float32 rounding (~eps/h).
// full_jacobian_check() compares every entry of J for small shapes (v = each unit vector).
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "qgrad.h"

namespace qgrad::testing {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradCheckOptions {
  double eps = 1e-3;   // finite-difference step
  double atol = 2e-3;  // |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 2e-2;
  uint64_t seed = 1234;
};

namespace detail {

// <v, f(inputs)> in double, with v given as a contiguous float tensor.
inline double dot_output(const Fn& f, const std::vector<Tensor>& inputs, const Tensor& v) {
  NoGradGuard no_grad;
  Tensor y = f(inputs).contiguous();
  REQUIRE(y.shape() == v.shape());
  const float* yp = y.data<float>();
  const float* vp = v.data<float>();
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(yp[i]) * vp[i];
  return s;
}

// Numeric d<v, f>/d input[k], element by element (works for non-contiguous inputs: perturbs
// the element through its strides).
inline std::vector<double> numeric_grad(const Fn& f, std::vector<Tensor> inputs, size_t k,
                                        const Tensor& v, double eps) {
  Tensor x = inputs[k];
  std::vector<double> out;
  const Shape& shape = x.shape();
  std::vector<int64_t> idx(shape.size(), 0);
  float* base = static_cast<float*>(x.storage()->data());
  for (int64_t n = 0; n < x.numel(); ++n) {
    int64_t pos = x.offset();
    for (size_t a = 0; a < shape.size(); ++a) pos += idx[a] * x.strides()[a];
    const float orig = base[pos];
    base[pos] = static_cast<float>(orig + eps);
    double up = dot_output(f, inputs, v);
    base[pos] = static_cast<float>(orig - eps);
    double down = dot_output(f, inputs, v);
    base[pos] = orig;
    // Divide by the step actually taken in float32, not the nominal one.
    double h = static_cast<double>(static_cast<float>(orig + eps)) - static_cast<float>(orig - eps);
    out.push_back((up - down) / h);
    for (int64_t a = static_cast<int64_t>(shape.size()) - 1; a >= 0; --a) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

inline void compare(const std::vector<float>& analytic, const std::vector<double>& numeric,
                    const GradCheckOptions& o, const std::string& what) {
  REQUIRE(analytic.size() == numeric.size());
  for (size_t i = 0; i < numeric.size(); ++i) {
    double err = std::abs(analytic[i] - numeric[i]);
    INFO(what << " element " << i << ": analytic " << analytic[i] << ", numeric " << numeric[i]);
    CHECK(err <= o.atol + o.rtol * std::abs(numeric[i]));
  }
}

}  // namespace detail

// Checks the vector-Jacobian product of f at `inputs` (each must have requires_grad set)
// against central differences, with a random cotangent.
inline void grad_check(const Fn& f, std::vector<Tensor> inputs, GradCheckOptions o = {}) {
  for (auto& x : inputs) x.zero_grad();
  Tensor y = f(inputs);
  Generator gen(o.seed);
  Tensor v = randn(y.shape(), gen);
  y.backward(v);
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].requires_grad()) continue;
    REQUIRE(inputs[k].grad().defined());
    REQUIRE(inputs[k].grad().shape() == inputs[k].shape());
    std::vector<double> numeric = detail::numeric_grad(f, inputs, k, v, o.eps);
    detail::compare(inputs[k].grad().to_vector(), numeric, o, "input " + std::to_string(k));
  }
}

// Checks every entry of the Jacobian: one backward per output element with v = e_j.
inline void full_jacobian_check(const Fn& f, std::vector<Tensor> inputs, GradCheckOptions o = {}) {
  Tensor y0;
  {
    NoGradGuard no_grad;
    y0 = f(inputs);
  }
  for (int64_t j = 0; j < y0.numel(); ++j) {
    Tensor v = zeros(y0.shape());
    v.data<float>()[j] = 1.f;
    for (auto& x : inputs) x.zero_grad();
    f(inputs).backward(v);
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (!inputs[k].requires_grad()) continue;
      std::vector<double> numeric = detail::numeric_grad(f, inputs, k, v, o.eps);
      std::vector<float> analytic = inputs[k].grad().defined() ? inputs[k].grad().to_vector()
                                                               : std::vector<float>(numeric.size(), 0.f);
      detail::compare(analytic, numeric, o,
                      "d out[" + std::to_string(j) + "] / d input " + std::to_string(k));
    }
  }
}

// A float tensor with requires_grad, values drawn from N(0, 1) (never all zero).
inline Tensor param(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, gen).requires_grad_();
}

}  // namespace qgrad::testing
