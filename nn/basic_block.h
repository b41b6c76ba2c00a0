// BasicBlock, the ResNet-18/34 block, a Residual with a fixed body:
//   y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
//   conv1 3x3 stride s, conv2 3x3 stride 1, both without bias (BatchNorm follows);
//   shortcut = conv 1x1 stride s + BatchNorm when s != 1 or in != out, else the identity.
//   x [N, in, H, W] -> y [N, out, ceil(H / s), ceil(W / s)]
// Parameters: "body.0.weight" (conv1), "body.1.*" (bn1), "body.3.weight" (conv2), "body.4.*",
// "shortcut.0.weight", "shortcut.1.*".
#pragma once
#include <string>

#include "core/random.h"
#include "nn/residual.h"

namespace qgrad::nn {

struct BasicBlockOptions {
  int64_t in = 0;
  int64_t out = 0;
  int64_t stride = 1;
};

class BasicBlock : public Residual {
 public:
  explicit BasicBlock(const BasicBlockOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }
  std::string options_str() const override;

 private:
  BasicBlockOptions options_;
};

}  // namespace qgrad::nn
