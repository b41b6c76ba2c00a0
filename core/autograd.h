// Reverse-mode automatic differentiation, define-by-run.
//
// Every differentiable op that sees an input with requires_grad (while grad mode is on) calls
// record(): the output gets a Node holding the op's inputs and a backward function that maps
// dL/d(output) to dL/d(each input). Tensor::backward() orders the nodes topologically and runs
// them in reverse, *adding* each contribution into the input's gradient — so a tensor used
// twice receives both (micrograd's rule) — and finally into .grad of the leaves.
//
// Backward functions are written with ordinary qgrad ops; they run with grad mode off, so they
// build no graph of their own. A backward function must not capture its own output tensor
// (that would be a reference cycle): capture out.detach() instead.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qgrad {

// Returns one gradient per input, in order; an undefined Tensor means "no gradient".
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;
  std::vector<Tensor> inputs;
  BackwardFn backward;
};

// Whether ops record the graph (thread-local, on by default).
bool grad_mode_enabled();

// RAII: no graph is recorded while a NoGradGuard lives (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Attaches `out` to the graph when grad mode is on and any input requires grad; returns out.
Tensor record(Tensor out, const char* name, std::vector<Tensor> inputs, BackwardFn backward);

// Sums `grad` over broadcast axes so it has `shape` again (the backward of broadcasting).
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace qgrad
