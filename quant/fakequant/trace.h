// Tracing: the data flow of any module tree, as the nn::Sequential that prepare and convert take.
//
// A model with its own forward is C++ code prepare cannot read, so it is run once on an example
// input while a call observer (nn::CallObserver) records every call of a *leaf* — a module
// without children, or a residual block (nn::Residual, nn::BasicBlock) — with the tensors it
// read and wrote. Containers and custom modules are looked through. The leaves' calls form a
// graph: each reads the model input or an earlier leaf's output. That graph is rebuilt as a
// Sequential of the very same modules (shared, not copied):
//   a chain       x -> a -> b -> c                      Sequential(a, b, c)
//   a fork-join   h = f(x); y = add(g1(h), g2(h))       ..., f, Residual(body = g1 chain,
//                                                        shortcut = g2 chain, or none if g2 is
//                                                        empty: add(g1(h), h)), ...
// nested to any depth, which is what prepare's rules already quantize (a residual's sum gets its
// own FakeQuantize; a ReLU right after the add is fused into its clamp).
// What cannot be traced fails naming the module: a tensor computed outside any module (write
// nn::Add for `a + b`, nn::Flatten for `x.flatten(1)`), an add whose inputs do not branch from
// one tensor, a branch read by something other than its add, a leaf with two inputs other than
// nn::Add. Control flow that depends on the data is frozen at the example's path.
// paths maps each module of the traced Sequential to its dotted path in the model (a residual
// made from an add: the Add's path), so a QConfig names layers as the model does.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "nn/module.h"
#include "nn/sequential.h"

namespace qgrad::quant {

struct TracedModel {
  std::shared_ptr<nn::Sequential> sequential;
  std::map<const nn::Module*, std::string> paths;
};

// Runs model once on example, in eval mode and without a graph (its mode is restored after).
TracedModel trace(nn::Module& model, const Tensor& example);

}  // namespace qgrad::quant
