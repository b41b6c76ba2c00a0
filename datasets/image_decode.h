// Decoding one PNG or JPEG file held in memory into H x W x C interleaved pixels, with the
// checks that make stb_image (Debian 12 ships v2.27) safe on untrusted files: stb's decoder is
// only called on bytes that passed them. ImageFolder decodes every file through here, and
// fuzz/image_fuzz.cpp fuzzes exactly this function.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "datasets/dataset.h"

namespace qgrad::data {

struct DecodedImage {
  std::unique_ptr<uint8_t, void (*)(void*)> pixels{nullptr, nullptr};  // H*W*C interleaved
  ImageShape shape;
  std::string error;  // why decoding failed; empty when pixels holds the image
};

// Never throws; a file that cannot be decoded safely gives an empty pixels and the reason.
DecodedImage decode_image(const uint8_t* bytes, size_t size);

// The JPEG check alone: "" when stb_image 2.27 may decode the bytes, else why not. Every
// "FF C4" byte pair in the file (wherever stb could take it for a DHT marker) is read as stb
// reads a DHT segment, and a Huffman table whose 16 code counts sum past 256 is refused:
// stb 2.27 writes its code lengths into a 257-byte array and its symbols into a 256-byte one
// without checking (upstream issue nothings/stb#1289, fixed in stb 2.28).
std::string jpeg_unsafe_for_stb(const uint8_t* bytes, size_t size);

// The PNG check: "" unless the chunk walk (8-byte signature, then length, type, data, CRC per
// chunk, up to IEND) meets a critical chunk stb does not know, or runs off the end before IEND
// (stb then reads zeros: a chunk of type 0). stb 2.27 reports an unknown critical chunk by
// writing its type into a static message buffer, which threads decoding at the same time
// (ImageFolder's OpenMP loop) share, and which reads as "" when the type starts with a zero byte
// (found by fuzz/image_fuzz); qgrad reports both cases itself instead.
std::string png_unknown_critical_chunk(const uint8_t* bytes, size_t size);

}  // namespace qgrad::data
