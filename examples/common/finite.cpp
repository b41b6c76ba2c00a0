#include "examples/common/finite.h"

#include <cmath>
#include <vector>

#include "core/error.h"

namespace qgrad::examples {

int64_t first_non_finite(const Tensor& t) {
  if (t.dtype() != DType::Float32) return -1;  // integer tensors are always finite
  const std::vector<float> v = t.contiguous().to_vector();
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) return static_cast<int64_t>(i);
  return -1;
}

void require_finite(const nn::StateDict& tensors, const std::string& what) {
  for (const auto& [name, t] : tensors) {
    const int64_t i = first_non_finite(t);
    check(i < 0, "require_finite", what, ": tensor '", name, "' holds a non-finite value (",
          t.contiguous().to_vector()[static_cast<size_t>(i)], " at index ", i,
          "); the training that wrote it diverged");
  }
}

void require_finite_step(const Tensor& loss, const nn::Module& model, int64_t epoch, int64_t step) {
  const float l = loss.item();
  const char* hint = "; the training diverged: lower --lr (or --momentum)";
  check(std::isfinite(l), "training", "epoch ", epoch, " step ", step + 1, ": the loss is ", l, hint);
  for (const auto& [name, p] : model.named_parameters()) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    const int64_t i = first_non_finite(g);
    check(i < 0, "training", "epoch ", epoch, " step ", step + 1, ": the gradient of '", name,
          "' holds a non-finite value (", g.contiguous().to_vector()[static_cast<size_t>(i)], " at index ", i,
          ") with a finite loss ", l, hint);
  }
}

}  // namespace qgrad::examples
