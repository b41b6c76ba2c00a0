// Catch2's main for the CUDA tests: runs them only where a GPU is visible. Without one, running
// a test prints why and exits 77 (CTest's skip code); listing tests still works, so CTest can
// discover them on a machine with the toolkit but no GPU.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <string_view>

#include "core/backend/cuda_device.h"

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).rfind("--list", 0) == 0) listing = true;
  }
  if (!listing && qgrad::cuda_device_count() == 0) {
    std::printf("skipped: %s\n", qgrad::cuda_device_description().c_str());
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
