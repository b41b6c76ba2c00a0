#include <catch2/catch.hpp>
#include "support/grad_check.h"
using namespace qgrad;
TEST_CASE("smoke: add/mul grad", "[grad]") {
  testing::grad_check([](const std::vector<Tensor>& in) { return sum(mul(add(in[0], in[1]), in[0]), {1}); },
                      {testing::param({3, 4}, 1), testing::param({4}, 2)});
}
