// The device is found and described (these run only where one is visible: see main.cpp).
#include <catch2/catch.hpp>

#include "core/backend/cuda_device.h"

TEST_CASE("a visible CUDA device is described by name and compute capability", "[cuda]") {
  REQUIRE(qgrad::cuda_built());
  REQUIRE(qgrad::cuda_device_count() >= 1);
  const std::string d = qgrad::cuda_device_description();
  INFO(d);
  CHECK(d.find("(sm_") != std::string::npos);
  CHECK(d.find("no CUDA device") == std::string::npos);
}
