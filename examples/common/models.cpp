#include "examples/common/models.h"

#include "core/error.h"
#include "nn/nn.h"

namespace qgrad::examples {

namespace {

// Every "unknown architecture" message lists these; keep in step with make_model.
constexpr const char* known_archs = "mlp, lenet5, cifar_cnn, mobilenet";

std::shared_ptr<nn::Sequential> mlp(Generator& gen) {
  return std::make_shared<nn::Sequential>(
      nn::Flatten(), nn::Linear({.in = 784, .out = 256}, gen), nn::ReLU(),
      nn::Linear({.in = 256, .out = 128}, gen), nn::ReLU(), nn::Linear({.in = 128, .out = 10}, gen));
}

std::shared_ptr<nn::Sequential> lenet5(Generator& gen) {
  return std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 1, .out = 6, .kernel = 5, .padding = 2}, gen), nn::ReLU(),
      nn::MaxPool2d({.kernel = 2}),
      nn::Conv2d({.in = 6, .out = 16, .kernel = 5}, gen), nn::ReLU(), nn::MaxPool2d({.kernel = 2}),
      nn::Flatten(), nn::Linear({.in = 400, .out = 120}, gen), nn::ReLU(),
      nn::Linear({.in = 120, .out = 84}, gen), nn::ReLU(), nn::Linear({.in = 84, .out = 10}, gen));
}

// conv3x3 (no bias: BatchNorm's shift replaces it) -> BatchNorm -> ReLU
void conv_bn_relu(nn::Sequential& net, int64_t in, int64_t out, Generator& gen) {
  net.add(nn::Conv2d({.in = in, .out = out, .kernel = 3, .padding = 1, .bias = false}, gen));
  net.add(nn::BatchNorm2d({.features = out}));
  net.add(nn::ReLU());
}

std::shared_ptr<nn::Sequential> cifar_cnn(Generator& gen) {
  auto net = std::make_shared<nn::Sequential>();
  int64_t in = 3;
  for (int64_t width : {32, 64, 128}) {
    conv_bn_relu(*net, in, width, gen);
    conv_bn_relu(*net, width, width, gen);
    net->add(nn::MaxPool2d({.kernel = 2}));
    in = width;
  }
  net->add(nn::GlobalAvgPool());
  net->add(nn::Linear({.in = 128, .out = 10}, gen));
  return net;
}

// A depthwise-separable block (MobileNet v1) factors a 3x3 conv in->out into a per-channel 3x3
// conv (groups = in: one 3x3 filter per channel, 9 in weights) and a 1x1 conv mixing channels
// (in out weights): 9 in + in out multiply-adds per pixel instead of 9 in out.
void depthwise_separable(nn::Sequential& net, int64_t in, int64_t out, int64_t stride, Generator& gen) {
  net.add(nn::Conv2d({.in = in, .out = in, .kernel = 3, .stride = stride, .padding = 1, .groups = in,
                      .bias = false}, gen));
  net.add(nn::BatchNorm2d({.features = in}));
  net.add(nn::ReLU());
  net.add(nn::Conv2d({.in = in, .out = out, .kernel = 1, .bias = false}, gen));
  net.add(nn::BatchNorm2d({.features = out}));
  net.add(nn::ReLU());
}

// A flat Sequential, so the quantization programs' prepare() walks it like cifar_cnn. Half
// MobileNet-on-CIFAR's usual widths (32 stem, 64..256): training time on the CPU goes with the
// elementwise work (BatchNorm, ReLU, im2col) over the activations, and at full width the 64
// channels at 32x32 made an epoch 3-4x cifar_cnn's; at half width it is about 1.3x.
std::shared_ptr<nn::Sequential> mobilenet(Generator& gen) {
  struct Block {
    int64_t out, stride;
  };
  auto net = std::make_shared<nn::Sequential>();
  conv_bn_relu(*net, 3, 16, gen);
  int64_t in = 16;
  for (Block b : {Block{32, 1}, Block{64, 2}, Block{64, 1}, Block{128, 2}, Block{128, 1}}) {
    depthwise_separable(*net, in, b.out, b.stride, gen);
    in = b.out;
  }
  net->add(nn::GlobalAvgPool());
  net->add(nn::Linear({.in = in, .out = 10}, gen));
  return net;
}

}  // namespace

std::shared_ptr<nn::Sequential> make_model(const std::string& arch, uint64_t seed) {
  Generator gen(seed);
  if (arch == "mlp") return mlp(gen);
  if (arch == "lenet5") return lenet5(gen);
  if (arch == "cifar_cnn") return cifar_cnn(gen);
  if (arch == "mobilenet") return mobilenet(gen);
  fail("make_model", "unknown architecture '", arch, "' (known: ", known_archs, ")");
}

std::string dataset_of(const std::string& arch) {
  if (arch == "mlp" || arch == "lenet5") return "mnist";
  if (arch == "cifar_cnn" || arch == "mobilenet") return "cifar10";
  fail("dataset_of", "unknown architecture '", arch, "' (known: ", known_archs, ")");
}

}  // namespace qgrad::examples
