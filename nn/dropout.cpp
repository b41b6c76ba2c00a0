#include "nn/dropout.h"

#include "core/ops/elementwise.h"

namespace qgrad::nn {

Dropout::Dropout(const DropoutOptions& options, Generator& gen)
    : options_(options), gen_(gen.next_u64()) {
  check(options.p >= 0.f && options.p <= 1.f, "Dropout", "p must be in [0, 1], got ", options.p);
}

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || options_.p == 0.f) return x;
  if (options_.p == 1.f) return mul(x, 0.f);
  const float keep = 1.f - options_.p;
  // uniform < keep happens with prob. keep; the draws come from the host generator, so a
  // model drops the same units on every device.
  Tensor mask = lt(rand(x.shape(), gen_).to(x.device()), keep);
  return mul(x, mul(mask, 1.f / keep));
}

}  // namespace qgrad::nn
