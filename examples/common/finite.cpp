#include "examples/common/finite.h"

#include <cmath>
#include <vector>

#include "core/error.h"

namespace qgrad::examples {

void require_finite(const nn::StateDict& tensors, const std::string& what) {
  for (const auto& [name, t] : tensors) {
    const int64_t i = nn::first_non_finite(t);
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
    const int64_t i = nn::first_non_finite(g);
    check(i < 0, "training", "epoch ", epoch, " step ", step + 1, ": the gradient of '", name,
          "' holds a non-finite value (", g.contiguous().to_vector()[static_cast<size_t>(i)], " at index ", i,
          ") with a finite loss ", l, hint);
  }
}

}  // namespace qgrad::examples
