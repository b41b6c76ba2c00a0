#include "core/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "core/ops/elementwise.h"
#include "core/ops/reduce.h"

namespace qgrad {

namespace {
thread_local bool g_grad_mode = true;
}

bool grad_mode_enabled() { return g_grad_mode; }

NoGradGuard::NoGradGuard() : previous_(g_grad_mode) { g_grad_mode = false; }
NoGradGuard::~NoGradGuard() { g_grad_mode = previous_; }

Tensor record(Tensor out, const char* name, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!g_grad_mode) return out;
  bool any = false;
  for (const Tensor& t : inputs) any = any || t.requires_grad();
  if (!any) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  out.impl()->requires_grad = true;
  out.set_grad_fn(std::move(node));
  return out;
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int64_t lead = grad.dim() - static_cast<int64_t>(shape.size());
  check(lead >= 0, "sum_to", "cannot reduce shape ", shape_str(grad.shape()), " to ", shape_str(shape));
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < grad.dim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && grad.shape()[i] != 1)) axes.push_back(i);
  Tensor reduced = sum(grad, axes, /*keepdim=*/true);
  return reduced.reshape(shape);
}

namespace {

// Tensors reachable from root through inputs that require grad, each after all of its
// consumers (reverse post-order of an iterative depth-first search).
std::vector<Tensor> topological_order(const Tensor& root) {
  std::vector<Tensor> post;
  std::unordered_set<TensorImpl*> seen{root.impl()};
  std::vector<std::pair<Tensor, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [t, next] = stack.back();
    const auto& fn = t.grad_fn();
    if (fn && next < fn->inputs.size()) {
      const Tensor& in = fn->inputs[next++];
      if (in.requires_grad() && seen.insert(in.impl()).second) stack.emplace_back(in, 0);
    } else {
      post.push_back(t);
      stack.pop_back();
    }
  }
  return {post.rbegin(), post.rend()};
}

}  // namespace

void Tensor::backward(const Tensor& grad) const {
  require_defined("backward");
  check(requires_grad(), "backward", "this tensor does not require grad: none of the tensors it "
        "was computed from has requires_grad set (or it was computed under NoGradGuard)");
  Tensor seed = grad;
  if (!seed.defined()) {
    check(numel() == 1, "backward", "the gradient can only be implied for a one-element output; "
          "pass grad explicitly for shape ", shape_str(shape()));
    seed = ones(shape(), DType::Float32, device());
  }
  check(seed.shape() == shape(), "backward", "gradient shape ", shape_str(seed.shape()),
        " differs from output shape ", shape_str(shape()));

  NoGradGuard no_grad;  // backward functions build no graph
  std::unordered_map<TensorImpl*, Tensor> pending{{impl(), seed}};
  for (const Tensor& t : topological_order(*this)) {
    auto it = pending.find(t.impl());
    if (it == pending.end()) continue;  // nothing flowed into t
    Tensor g = std::move(it->second);
    pending.erase(it);
    const auto& fn = t.grad_fn();
    if (!fn) {
      // A leaf: accumulate into .grad. A fresh copy, so no two leaves share one buffer.
      t.impl()->grad = t.impl()->grad.defined() ? add(t.impl()->grad, g) : g.clone();
      continue;
    }
    std::vector<Tensor> grads = fn->backward(g);
    check(grads.size() == fn->inputs.size(), "backward", "node '", fn->name, "' returned ",
          grads.size(), " gradients for ", fn->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      const Tensor& in = fn->inputs[i];
      if (!in.requires_grad() || !grads[i].defined()) continue;
      check(grads[i].shape() == in.shape(), "backward", "node '", fn->name, "' returned a gradient of shape ",
            shape_str(grads[i].shape()), " for input ", i, " of shape ", shape_str(in.shape()));
      auto [slot, inserted] = pending.try_emplace(in.impl(), grads[i]);
      if (!inserted) slot->second = add(slot->second, grads[i]);
    }
  }
}

}  // namespace qgrad
