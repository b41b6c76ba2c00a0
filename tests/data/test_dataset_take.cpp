#include <catch2/catch.hpp>

#include "datasets/dataset.h"

using namespace qgrad::data;

TEST_CASE("Dataset::take keeps the first n samples, pixels and labels", "[data]") {
  std::vector<uint8_t> pixels = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  Dataset d({1, 2, 2}, pixels, {2, 0, 1}, {"a", "b", "c"});
  Dataset two = d.take(2);
  REQUIRE(two.size() == 2);
  CHECK(two.labels() == std::vector<int32_t>{2, 0});
  CHECK(two.get(1).pixels[3] == 8);
  CHECK(two.classes() == d.classes());
  CHECK(d.take(10).size() == 3);
}
