// NaN and infinity checks for the example programs: a diverged run (too large a learning rate)
// turns the loss, then the gradients, then the weights into NaN/inf, and from then on every
// number it reports is meaningless. Training stops at the first non-finite loss or gradient,
// and no program saves, evaluates or quantizes weights that hold one; each message names the
// tensor, so the user sees where it started.
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "nn/module.h"
#include "nn/safetensors.h"
#include "nn/state_dict.h"

namespace qgrad::examples {

// Fails unless every float tensor of tensors is finite, naming `what` (a file, "the model"),
// the tensor, the index and the value.
void require_finite(const nn::StateDict& tensors, const std::string& what);

// After loss.backward() of training step `step` (0-based, within epoch, 1-based): fails when
// the loss or a parameter's gradient is not finite, before opt.step() can write it into the
// weights. The message names the step and the parameter and says what usually causes it.
void require_finite_step(const Tensor& loss, const nn::Module& model, int64_t epoch, int64_t step);

}  // namespace qgrad::examples
