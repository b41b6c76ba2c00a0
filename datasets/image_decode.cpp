#include "datasets/image_decode.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <iterator>

#include "core/error.h"

// stb_image's implementation is compiled here, once for the library, with only the formats
// ImageFolder accepts.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#include <stb_image.h>

namespace qgrad::data {
namespace {

// ImageFolder holds small training images; a header claiming more pixels than this is refused
// before stb allocates for it (a crafted 1-kB PNG header can otherwise ask for gigabytes).
constexpr int64_t kMaxPixels = int64_t{1} << 24;

// stb takes a file for a JPEG when its first marker is SOI: 0xFF, any number of 0xFF fill
// bytes, then 0xD8 (stbi__get_marker). Only such files reach stb's JPEG decoder.
bool stb_reads_as_jpeg(const uint8_t* b, size_t n) {
  if (n == 0 || b[0] != 0xFF) return false;
  size_t i = 1;
  while (i < n && b[i] == 0xFF) ++i;
  return i < n && b[i] == 0xD8;
}

}  // namespace

std::string jpeg_unsafe_for_stb(const uint8_t* b, size_t n) {
  // stb reads a 0 for every byte past the end of the buffer (stbi__get8), so this does too.
  auto at = [&](size_t i) -> unsigned { return i < n ? b[i] : 0u; };
  // Every FF C4 pair, not only those a marker walk would reach: wherever stb's own walk (with
  // its fill bytes, padding and resynchronisation after a scan) lands, it is on one of these.
  // An FF C4 inside other segments' payload is checked too; the price is that a file whose
  // payload happens to look like an oversized table is refused, which no encoder writes.
  for (size_t p = 0; p + 1 < n; ++p) {
    if (b[p] != 0xFF || b[p + 1] != 0xC4) continue;
    // As stbi__process_marker's DHT case reads it: a length L, then tables while L > 0, each a
    // class/id byte, 16 counts and as many symbols as the counts sum to.
    size_t q = p + 2;
    int64_t left = int64_t(at(q) << 8 | at(q + 1)) - 2;
    q += 2;
    while (left > 0) {
      const unsigned table_class = at(q) >> 4, table_id = at(q) & 15;
      if (table_class > 1 || table_id > 3) break;  // stb stops here with "bad DHT header"
      unsigned codes = 0;
      for (size_t i = 0; i < 16; ++i) codes += at(q + 1 + i);
      if (codes > 256)
        return cat("JPEG Huffman table (DHT segment at byte ", p, ") defines ", codes,
                   " codes, more than the 256 a table can hold (refused: stb_image 2.27 would write past its "
                   "tables, upstream issue nothings/stb#1289)");
      q += 17 + codes;
      left -= 17 + int64_t{codes};
    }
  }
  return "";
}

std::string png_unknown_critical_chunk(const uint8_t* b, size_t n) {
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n < 8 || !std::equal(signature, signature + 8, b)) return "";
  auto be32 = [&](size_t at) { return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | b[at + 3]; };
  // The chunks stb_image 2.27 decodes (stbi__parse_png_file); CgBI is Apple's variant.
  static const char* known[] = {"IHDR", "PLTE", "IDAT", "IEND", "CgBI"};
  for (size_t at = 8; at + 8 <= n;) {
    const uint32_t length = be32(at);
    const std::string type(reinterpret_cast<const char*>(b + at + 4), 4);
    if (type == "IEND") return "";
    const bool critical = (b[at + 4] & 0x20) == 0;  // an upper-case first letter (PNG spec 5.4)
    if (critical && std::find(std::begin(known), std::end(known), type) == std::end(known)) {
      std::string shown;
      for (unsigned char ch : type) {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02x", ch);
        shown += std::isprint(ch) ? std::string(1, static_cast<char>(ch)) : std::string(hex);
      }
      return cat("PNG chunk '", shown, "' at byte ", at, " is critical and not one stb_image decodes");
    }
    at += 12 + size_t{length};
  }
  // stb reads zeros past the end, i.e. a chunk of type "\0\0\0\0": the same empty message.
  return "PNG ends before its IEND chunk (truncated, or a chunk length runs past the end)";
}

DecodedImage decode_image(const uint8_t* bytes, size_t size) {
  DecodedImage d;
  if (size > size_t{INT_MAX}) {
    d.error = cat("file is ", size, " bytes, more than stb_image reads (2 GiB)");
    return d;
  }
  d.error = stb_reads_as_jpeg(bytes, size) ? jpeg_unsafe_for_stb(bytes, size) : png_unknown_critical_chunk(bytes, size);
  if (!d.error.empty()) return d;
  const int len = static_cast<int>(size);
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(bytes, len, &w, &h, &c)) {
    d.error = stbi_failure_reason() ? stbi_failure_reason() : "not a PNG or JPEG file";
    return d;
  }
  if (int64_t{w} * h > kMaxPixels) {
    d.error = cat("image is ", h, "x", w, ", more than the ", kMaxPixels, " pixels ImageFolder accepts");
    return d;
  }
  d.pixels = {stbi_load_from_memory(bytes, len, &w, &h, &c, 0), stbi_image_free};
  if (!d.pixels) {
    d.error = stbi_failure_reason() ? stbi_failure_reason() : "unknown error";
    return d;
  }
  d.shape = {c, h, w};
  return d;
}

}  // namespace qgrad::data
