// Bit packing of low-bit weight codes for files: a b-bit signed code (b = 4 or 2) takes b bits
// of a byte instead of a whole int8, so a 4-bit layer is half and a 2-bit layer a quarter of
// its int8 size on disk. The kernels still compute on int8 codes: packing is a storage format,
// unpacked (and re-packed for the dispatched qgemm kernel) when a model is loaded.
//
// Layout, b in {4, 2}, c = 8 / b codes per byte, n codes -> ceil(n / c) bytes:
//   byte[i / c] |= (code[i] & (2^b - 1)) << (b * (i % c))
// i.e. code i occupies bits [b (i mod c), b (i mod c) + b) — the first code in the LOW bits
// (little-endian within the byte, like the bytes of a little-endian word). Each field holds the
// code's b-bit two's complement; unpacking sign-extends it:
//   code = field - 2^b  if field >= 2^(b-1)  else field
// The unused fields of the last byte are zero. b = 8 is accepted and is a plain copy.
// Representable codes: [-2^(b-1), 2^(b-1) - 1] = [-8, 7] for 4 bits, [-2, 1] for 2 bits
// (symmetric weights only use [-7, 7] and [-1, 1]; the extra negative code round-trips too).
// Codebook indices (quant/math/nonlinear.h), unsigned in [0, 2^bits - 1], take the same layout at
// the width storage_bits(bits): each field holds the index's bits, so a 3-bit index takes 4 bits.
#pragma once
#include <cstdint>
#include <vector>

namespace qgrad::quant {

// The width a `bits`-bit code (2..8) is stored with: 2 for 2 bits, 4 for 3 and 4 bits, else 8.
int storage_bits(int bits);

// Bytes that n codes of `bits` bits take: ceil(n * bits / 8).
int64_t packed_bytes(int64_t n, int bits);

// Packs n codes; fails (qgrad::Error naming the value and its index) when a code does not fit
// in `bits` bits, or when bits is not 2, 4 or 8.
std::vector<uint8_t> pack_codes(const int8_t* codes, int64_t n, int bits);
// Unpacks n codes from packed (which must hold exactly packed_bytes(n, bits) bytes); fails when
// the padding fields of the last byte are not zero (a sign of a corrupted or mislabelled file).
std::vector<int8_t> unpack_codes(const uint8_t* packed, int64_t packed_size, int64_t n, int bits);

// n indices of `bits` bits (2..8) in storage_bits(bits) fields; fails on an index >= 2^bits.
std::vector<uint8_t> pack_indices(const uint8_t* indices, int64_t n, int bits);
// The inverse; fails as unpack_codes does. Fields past 2^bits (a 3-bit index field holding 8..15)
// are returned as they are: the caller checks them against its codebook.
std::vector<uint8_t> unpack_indices(const uint8_t* packed, int64_t packed_size, int64_t n, int bits);

}  // namespace qgrad::quant
