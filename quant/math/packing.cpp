#include "quant/math/packing.h"

#include "core/error.h"

namespace qgrad::quant {

namespace {
void check_packing_bits(int bits, const char* op) {
  check(bits == 2 || bits == 4 || bits == 8, op, "bits must be 2, 4 or 8, got ", bits);
}
}  // namespace

int storage_bits(int bits) {
  check(bits >= 2 && bits <= 8, "storage_bits", "bits must be in 2..8, got ", bits);
  return bits <= 2 ? 2 : bits <= 4 ? 4 : 8;
}

int64_t packed_bytes(int64_t n, int bits) {
  check_packing_bits(bits, "packed_bytes");
  check(n >= 0, "packed_bytes", "negative code count ", n);
  return (n * bits + 7) / 8;
}

std::vector<uint8_t> pack_codes(const int8_t* codes, int64_t n, int bits) {
  const int64_t bytes = packed_bytes(n, bits);
  const int lo = -(1 << (bits - 1)), hi = (1 << (bits - 1)) - 1;
  const int per_byte = 8 / bits;
  const unsigned mask = (1u << bits) - 1;
  std::vector<uint8_t> out(static_cast<size_t>(bytes), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int c = codes[i];
    check(c >= lo && c <= hi, "pack_codes", "code ", c, " at index ", i, " does not fit in ", bits,
          " bits (range [", lo, ", ", hi, "])");
    // c & mask is the b-bit two's complement of c (the int is converted modulo 2^32 first).
    out[static_cast<size_t>(i / per_byte)] |=
        static_cast<uint8_t>((static_cast<unsigned>(c) & mask) << (bits * (i % per_byte)));
  }
  return out;
}

std::vector<int8_t> unpack_codes(const uint8_t* packed, int64_t packed_size, int64_t n, int bits) {
  const int64_t bytes = packed_bytes(n, bits);
  check(packed_size == bytes, "unpack_codes", n, " codes of ", bits, " bits take ", bytes,
        " bytes, got ", packed_size);
  const int per_byte = 8 / bits;
  const int mask = (1 << bits) - 1, sign = 1 << (bits - 1);
  std::vector<int8_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int field = (packed[i / per_byte] >> (bits * (i % per_byte))) & mask;
    out[static_cast<size_t>(i)] = static_cast<int8_t>(field >= sign ? field - (1 << bits) : field);
  }
  if (bits < 8 && n % per_byte != 0) {
    const int used = static_cast<int>(n % per_byte) * bits;
    check((packed[bytes - 1] >> used) == 0, "unpack_codes", "the padding bits of the last byte (",
          static_cast<int>(packed[bytes - 1]), ") are not zero: the data is corrupted or not ", bits, "-bit codes");
  }
  return out;
}

// An index is stored as the signed code whose two's complement field holds its bits.
std::vector<uint8_t> pack_indices(const uint8_t* indices, int64_t n, int bits) {
  const int stored = storage_bits(bits), field = 1 << stored;
  std::vector<int8_t> codes(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int v = indices[i];
    check(v < (1 << bits), "pack_indices", "index ", v, " at ", i, " does not fit in ", bits, " bits");
    codes[static_cast<size_t>(i)] = static_cast<int8_t>(v >= field / 2 ? v - field : v);
  }
  return pack_codes(codes.data(), n, stored);
}

std::vector<uint8_t> unpack_indices(const uint8_t* packed, int64_t packed_size, int64_t n, int bits) {
  const int stored = storage_bits(bits);
  const std::vector<int8_t> codes = unpack_codes(packed, packed_size, n, stored);
  std::vector<uint8_t> out(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) out[i] = static_cast<uint8_t>(codes[i] & ((1 << stored) - 1));
  return out;
}

}  // namespace qgrad::quant
