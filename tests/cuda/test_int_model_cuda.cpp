// The integer model on the GPU (IntModel::set_execution_device(Device::CUDA)) gives the same
// output bytes as on the CPU, for small converted models that use every layer with a CUDA path
// (im2col conv with padding and a 1x1 conv, max-pool, linear) and layers without one in between
// (average pool, flatten, a residual whose add stays on the CPU, a grouped conv).
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "nn/nn.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/intmodel/convert.h"
#include "quant/math/quantize.h"

using namespace qgrad;
using namespace qgrad::quant;

namespace {

std::shared_ptr<IntModel> converted(const nn::Sequential& model, const Tensor& calibration) {
  auto q = prepare(model, {});
  {
    NoGradGuard no_grad;
    (*q)(calibration);
  }
  set_observe(*q, false);
  set_fake_quant(*q, true);
  return convert(*q);
}

void check_same_on_gpu(IntModel& im, const Tensor& x) {
  const Tensor q = quantize(x, im.input_qparams);
  im.set_execution_device(Device::CPU);
  const Tensor cpu = im.forward_int(q);
  im.set_execution_device(Device::CUDA);
  const Tensor gpu = im.forward_int(q);
  const Tensor gpu_again = im.forward_int(q);  // the second call reuses the uploaded weights
  im.set_execution_device(Device::CPU);
  REQUIRE(cpu.shape() == gpu.shape());
  const auto a = cpu.to_vector<uint8_t>(), b = gpu.to_vector<uint8_t>(), c = gpu_again.to_vector<uint8_t>();
  CHECK(a == b);
  CHECK(a == c);
  // not a trivial output: the codes differ between samples
  CHECK(std::adjacent_find(a.begin(), a.end(), std::not_equal_to<>()) != a.end());
}

}  // namespace

TEST_CASE("IntModel on CUDA: a LeNet-like model gives the CPU's output bytes", "[cuda][quant]") {
  Generator gen(41);
  nn::Sequential model(nn::Conv2d({.in = 3, .out = 6, .kernel = 5, .padding = 2}, gen), nn::ReLU(),
                       nn::MaxPool2d({.kernel = 2}), nn::Conv2d({.in = 6, .out = 16, .kernel = 3}, gen), nn::ReLU(),
                       nn::Conv2d({.in = 16, .out = 12, .kernel = 1}, gen), nn::MaxPool2d({.kernel = 2}),
                       nn::Flatten(), nn::Linear({.in = 12 * 3 * 3, .out = 10}, gen));
  auto im = converted(model, randn({32, 3, 16, 16}, gen));
  check_same_on_gpu(*im, randn({37, 3, 16, 16}, gen));
}

TEST_CASE("IntModel on CUDA: residual, average pool and grouped conv in between", "[cuda][quant]") {
  Generator gen(42);
  auto body = std::make_shared<nn::Sequential>(nn::Conv2d({.in = 8, .out = 8, .kernel = 3, .padding = 1}, gen),
                                               nn::ReLU(),
                                               nn::Conv2d({.in = 8, .out = 8, .kernel = 3, .padding = 1, .groups = 4}, gen));
  nn::Sequential model(nn::Conv2d({.in = 2, .out = 8, .kernel = 3, .padding = 1}, gen), nn::ReLU(), nn::Residual(body),
                       nn::ReLU(),
                       nn::Residual(nn::Conv2d({.in = 8, .out = 8, .kernel = 3, .padding = 1}, gen),
                                    nn::Conv2d({.in = 8, .out = 8, .kernel = 1}, gen)),
                       nn::AvgPool2d({.kernel = 2}), nn::Flatten(), nn::Linear({.in = 8 * 4 * 4, .out = 5}, gen));
  auto im = converted(model, randn({16, 2, 8, 8}, gen));
  check_same_on_gpu(*im, randn({9, 2, 8, 8}, gen));
}
