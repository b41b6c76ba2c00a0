#include <catch2/catch.hpp>

#include "datasets/dataset.h"

using namespace qgrad::data;

TEST_CASE("Dataset::evenly_spaced keeps samples spread over the whole set", "[data]") {
  // Six 1x1x2 images sorted by class, as an image folder would give them.
  std::vector<uint8_t> pixels = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  Dataset d({1, 1, 2}, pixels, {0, 0, 1, 1, 2, 2}, {"a", "b", "c"});
  Dataset three = d.evenly_spaced(3);  // indices 0, 2, 4
  REQUIRE(three.size() == 3);
  CHECK(three.labels() == std::vector<int32_t>{0, 1, 2});
  CHECK(three.get(1).pixels[0] == 5);
  CHECK(three.get(2).pixels[1] == 10);
  CHECK(three.classes() == d.classes());
  CHECK(d.evenly_spaced(4).labels() == std::vector<int32_t>{0, 0, 1, 2});  // 0, 1, 3, 4
  CHECK(d.evenly_spaced(10).size() == 6);
}
