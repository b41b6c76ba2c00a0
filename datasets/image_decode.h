// Decoding one PNG or JPEG file held in memory into H x W x C interleaved pixels. ImageFolder
// decodes every file through here, and fuzz/image_fuzz.cpp fuzzes exactly this function.
//
// JPEGs go to libjpeg-turbo (Debian's libjpeg62-turbo, maintained and fuzzed by OSS-Fuzz), not
// to stb_image: Debian 12 ships stb_image 2.27, whose JPEG decoder writes past its Huffman
// tables on a table of more than 256 codes (upstream nothings/stb#1289, fixed in 2.28), and even
// with such tables refused beforehand it still shifted by 32 bits and more on corrupt entropy-
// coded data (UBSan, found by fuzz/image_fuzz after 110k inputs). PNGs stay with stb_image,
// behind a chunk walk of qgrad's (png_unknown_critical_chunk). Images of more than 16M pixels
// are refused before either decoder allocates.
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

// Never throws; a file that cannot be decoded gives an empty pixels and the reason. A file
// starting with SOI (FF D8) is a JPEG (gray: 1 channel, else RGB), anything else is tried as PNG.
DecodedImage decode_image(const uint8_t* bytes, size_t size);

// The PNG check run before stb: "" unless the chunk walk (8-byte signature, then length, type,
// data, CRC per chunk, up to IEND) meets a critical chunk stb does not know, or runs off the
// end before IEND (stb then reads zeros: a chunk of type 0). stb 2.27 reports an unknown
// critical chunk by writing its type into a static message buffer, which threads decoding at
// the same time (ImageFolder's parallel loop) share, and which reads as "" when the type starts
// with a zero byte (found by fuzz/image_fuzz); qgrad reports both cases itself instead.
std::string png_unknown_critical_chunk(const uint8_t* bytes, size_t size);

}  // namespace qgrad::data
