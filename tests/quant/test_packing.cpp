// pack_codes / unpack_codes: round trips over the whole b-bit range (extremes included), odd
// lengths, the documented bit order, and refusal of codes that do not fit.
#include <catch2/catch.hpp>

#include <random>

#include "core/error.h"
#include "quant/math/packing.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

TEST_CASE("packing: random codes round-trip for 8, 4 and 2 bits at odd lengths", "[quant]") {
  std::mt19937 rng(7);
  for (int bits : {8, 4, 2}) {
    const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
    std::uniform_int_distribution<int> dist(lo, hi);
    for (int64_t n : {1, 2, 3, 5, 7, 64, 101, 1001}) {
      std::vector<int8_t> codes(static_cast<size_t>(n));
      for (auto& c : codes) c = static_cast<int8_t>(dist(rng));
      codes.front() = static_cast<int8_t>(lo);  // both extremes in every case
      codes.back() = static_cast<int8_t>(hi);
      const auto packed = pack_codes(codes.data(), n, bits);
      CHECK(static_cast<int64_t>(packed.size()) == (n * bits + 7) / 8);
      CHECK(unpack_codes(packed.data(), static_cast<int64_t>(packed.size()), n, bits) == codes);
    }
  }
}

TEST_CASE("packing: the first code sits in the low bits, padding is zero", "[quant]") {
  const std::vector<int8_t> four{-8, 7, -1};  // fields 0x8, 0x7, 0xF
  CHECK(pack_codes(four.data(), 3, 4) == std::vector<uint8_t>{0x78, 0x0F});
  const std::vector<int8_t> two{1, -2, -1, 0, -1};  // fields 01, 10, 11, 00, 11
  CHECK(pack_codes(two.data(), 5, 2) == std::vector<uint8_t>{0x39, 0x03});
}

TEST_CASE("packing: codes outside the b-bit range and bad inputs are refused", "[quant]") {
  const std::vector<int8_t> codes{0, 3, -9, 1};
  CHECK_THROWS_WITH(pack_codes(codes.data(), 4, 4), Contains("code -9 at index 2") && Contains("[-8, 7]"));
  const std::vector<int8_t> two{1, -2, 2};
  CHECK_THROWS_WITH(pack_codes(two.data(), 3, 2), Contains("code 2 at index 2"));
  CHECK_THROWS_WITH(pack_codes(two.data(), 3, 3), Contains("bits must be 2, 4 or 8, got 3"));
  const std::vector<uint8_t> packed{0x12, 0x34};
  CHECK_THROWS_WITH(unpack_codes(packed.data(), 2, 5, 4), Contains("5 codes of 4 bits take 3 bytes, got 2"));
  CHECK_THROWS_WITH(unpack_codes(packed.data(), 2, 3, 4), Contains("padding bits of the last byte (52)"));
}
