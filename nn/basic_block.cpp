#include "nn/basic_block.h"

#include "core/ops/activation.h"
#include "nn/activations.h"
#include "nn/batch_norm.h"
#include "nn/conv2d.h"
#include "nn/sequential.h"

namespace qgrad::nn {

BasicBlock::BasicBlock(const BasicBlockOptions& o, Generator& gen) : options_(o) {
  check(o.in > 0 && o.out > 0 && o.stride > 0, "BasicBlock", "needs positive in, out, stride (in=",
        o.in, ", out=", o.out, ", stride=", o.stride, ")");
  // Built in a fixed statement order so the generator is drawn deterministically.
  auto body = std::make_shared<Sequential>();
  body->add(Conv2d({.in = o.in, .out = o.out, .kernel = 3, .stride = o.stride, .padding = 1,
                    .bias = false}, gen));
  body->add(BatchNorm2d({.features = o.out}));
  body->add(ReLU());
  body->add(Conv2d({.in = o.out, .out = o.out, .kernel = 3, .padding = 1, .bias = false}, gen));
  body->add(BatchNorm2d({.features = o.out}));
  set_body(body);
  if (o.stride != 1 || o.in != o.out) {
    auto shortcut = std::make_shared<Sequential>();
    shortcut->add(Conv2d({.in = o.in, .out = o.out, .kernel = 1, .stride = o.stride,
                          .bias = false}, gen));
    shortcut->add(BatchNorm2d({.features = o.out}));
    set_shortcut(shortcut);
  }
}

Tensor BasicBlock::forward(const Tensor& x) { return relu(Residual::forward(x)); }

std::string BasicBlock::options_str() const {
  return cat("in=", options_.in, ", out=", options_.out, ", stride=", options_.stride);
}

}  // namespace qgrad::nn
