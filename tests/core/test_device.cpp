// Devices as seen from a machine without a usable GPU (the CUDA backend's own tests are in
// tests/cuda and run only where one is visible): choosing a device by name, and every way of
// reaching Device::CUDA failing with a clear qgrad::Error instead of crashing; the CPU paths
// that gained a device argument behave as before.
#include <catch2/catch.hpp>

#include "core/backend/backend.h"
#include "core/device.h"
#include "core/ops/elementwise.h"
#include "nn/linear.h"
#include "nn/optim/sgd.h"

using namespace qgrad;
using Catch::Matchers::Contains;

TEST_CASE("parse_device maps names to devices and refuses unknown names", "[core][device]") {
  CHECK(parse_device("cpu") == Device::CPU);
  CHECK_THROWS_WITH(parse_device("gpu"), Contains("parse_device: unknown device 'gpu' (expected cpu or cuda)"));
  CHECK_THROWS_WITH(parse_device("CPU"), Contains("unknown device 'CPU'"));
  CHECK_THROWS_WITH(parse_device(""), Contains("unknown device ''"));
  if (cuda_is_available()) {
    CHECK(parse_device("cuda") == Device::CUDA);
  } else {
    CHECK_THROWS_WITH(parse_device("cuda"), Contains("parse_device: device 'cuda' is not available"));
  }
}

// Everything below needs the GPU to be missing; with one visible, tests/cuda covers these paths.
TEST_CASE("without a visible GPU every way onto the cuda device fails with a clear error", "[core][device]") {
  if (cuda_is_available()) return;
  CHECK_THROWS_WITH(backend_for(Device::CUDA), Contains("device 'cuda' is not available"));
  Tensor x = from_vector({1.f, 2.f, 3.f}, {3});
  CHECK_THROWS_WITH(x.to(Device::CUDA), Contains("device 'cuda' is not available"));
  CHECK_THROWS_WITH(zeros({2, 2}, DType::Float32, Device::CUDA), Contains("device 'cuda' is not available"));
  CHECK_THROWS_WITH(empty({4}, DType::Int8, Device::CUDA), Contains("device 'cuda' is not available"));
  Tensor leaf = x.clone().detach();
  CHECK_THROWS_WITH(leaf.to_(Device::CUDA), Contains("device 'cuda' is not available"));
  CHECK(leaf.device() == Device::CPU);  // a failed move leaves the tensor where it was
  CHECK(leaf.to_vector() == std::vector<float>{1.f, 2.f, 3.f});

  nn::Linear layer({.in = 3, .out = 2});
  const std::vector<float> w = layer.parameters()[0].to_vector();
  CHECK_THROWS_WITH(layer.to(Device::CUDA), Contains("device 'cuda' is not available"));
  CHECK(layer.device() == Device::CPU);
  CHECK(layer.parameters()[0].to_vector() == w);
}

TEST_CASE("to(Device::CPU) on a CPU tensor is the tensor itself, and Module::to(cpu) changes nothing",
          "[core][device]") {
  Tensor x = from_vector({1.f, -2.f, 3.5f, 4.f}, {2, 2});
  Tensor y = x.to(Device::CPU);
  CHECK(y.storage() == x.storage());
  CHECK(y.device() == Device::CPU);
  Tensor leaf = x.clone().detach();
  auto storage = leaf.storage();
  leaf.to_(Device::CPU);
  CHECK(leaf.storage() == storage);

  nn::Linear layer({.in = 2, .out = 2});
  Tensor w = layer.parameters()[0];
  auto w_storage = w.storage();
  layer.to(Device::CPU);
  CHECK(layer.device() == Device::CPU);
  CHECK(layer.parameters()[0].storage() == w_storage);
}

TEST_CASE("factories take a device and keep the CPU default; *_like keeps the source's device", "[core][device]") {
  Tensor a = full({2, 3}, 2.5f);
  CHECK(a.device() == Device::CPU);
  CHECK(a.to_vector() == std::vector<float>(6, 2.5f));
  Tensor b = ones({3}, DType::Int8, Device::CPU);
  CHECK(b.to_vector<int8_t>() == std::vector<int8_t>{1, 1, 1});
  CHECK(zeros_like(a).device() == Device::CPU);
  CHECK(zeros_like(a).shape() == Shape{2, 3});
}

TEST_CASE("an optimizer's state is made on its parameters' device and a CPU step is unchanged", "[core][device]") {
  Tensor p = from_vector({1.f, 2.f}, {2});
  p.requires_grad_();
  optim::SGD sgd({p}, {.lr = 0.5f, .momentum = 0.9f});
  mul(p, p).backward(from_vector({1.f, 1.f}, {2}));  // grad = 2p
  sgd.step();
  CHECK(p.to_vector() == std::vector<float>{0.f, 0.f});  // p - 0.5 * 2p
  CHECK(sgd.state_dict().at("0.momentum_buffer").device() == Device::CPU);
}
