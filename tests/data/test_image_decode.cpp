// decode_image (datasets/image_decode.h): a JPEG whose Huffman table claims more than 256 codes
// (stb_image 2.27 wrote past its tables on it, upstream nothings/stb#1289; JPEGs now go to
// libjpeg-turbo) is refused, wherever the table sits, and one of exactly 256 is not; a PNG
// header asking for a huge image is refused before stb allocates; an unknown critical PNG chunk
// gets a message of qgrad's (stb's is written into a buffer all threads share); ImageFolder
// reports such files by name.
#include <catch2/catch.hpp>

#include "core/error.h"
#include "data/data_files.h"
#include "datasets/image_decode.h"
#include "datasets/image_folder.h"

using namespace qgrad;
using namespace qgrad::data;
using Catch::Contains;
using qgrad::testing::TempDir;

namespace {

// A real 8x8 RGB JPEG from stb_image_write, with varied pixels.
std::vector<uint8_t> real_jpeg(const TempDir& dir) {
  const ImageShape rgb{3, 8, 8};
  std::vector<uint8_t> chw(static_cast<size_t>(rgb.numel()));
  for (size_t k = 0; k < chw.size(); ++k) chw[k] = static_cast<uint8_t>(17 * k + 5);
  testing::write_jpg(dir / "real.jpg", rgb, chw);
  return testing::read_bytes(dir / "real.jpg");
}

// A DHT segment (FF C4, length, one AC table) whose 16 code counts are given; as many symbol
// bytes follow as the counts sum to, so the segment is well-formed apart from the sum.
std::vector<uint8_t> dht(const std::vector<uint8_t>& counts) {
  size_t codes = 0;
  for (uint8_t c : counts) codes += c;
  const size_t length = 2 + 1 + 16 + codes;
  std::vector<uint8_t> seg(2 + length);
  seg[0] = 0xFF, seg[1] = 0xC4, seg[2] = static_cast<uint8_t>(length >> 8), seg[3] = static_cast<uint8_t>(length);
  seg[4] = 0x10;
  for (size_t i = 0; i < 16; ++i) seg[5 + i] = counts[i];
  for (size_t i = 0; i < codes; ++i) seg[21 + i] = static_cast<uint8_t>(i);
  return seg;
}

std::vector<uint8_t> insert_at(std::vector<uint8_t> file, size_t at, const std::vector<uint8_t>& seg) {
  file.insert(file.begin() + static_cast<std::ptrdiff_t>(at), seg.begin(), seg.end());
  return file;
}

}  // namespace

TEST_CASE("decode_image: a JPEG Huffman table of more than 256 codes is refused", "[data]") {
  TempDir dir;
  const std::vector<uint8_t> jpeg = real_jpeg(dir);
  REQUIRE(decode_image(jpeg.data(), jpeg.size()).pixels != nullptr);

  // 16 x 255 = 4080 codes (issue #1289's file had 654): stb 2.27 wrote 4080 code lengths into a
  // 257-byte array. Right after SOI, and as the last segment before EOI (met only after the scan).
  const std::vector<uint8_t> oversized = dht(std::vector<uint8_t>(16, 255));
  for (size_t at : {size_t{2}, jpeg.size() - 2}) {
    const std::vector<uint8_t> bad = insert_at(jpeg, at, oversized);
    const DecodedImage d = decode_image(bad.data(), bad.size());
    CHECK(d.pixels == nullptr);
    CHECK_THAT(d.error, Contains("JPEG: Bogus Huffman table definition"));
  }
  // 257 codes is one too many; 256 is the most a table holds (and the file's own tables, which
  // follow, replace this one).
  std::vector<uint8_t> counts(16, 0);
  counts[7] = 255, counts[15] = 2;
  const std::vector<uint8_t> c257 = insert_at(jpeg, 2, dht(counts));
  CHECK_THAT(decode_image(c257.data(), c257.size()).error, Contains("Bogus Huffman table definition"));
  counts[15] = 1;
  const std::vector<uint8_t> c256 = insert_at(jpeg, 2, dht(counts));
  CHECK(decode_image(c256.data(), c256.size()).pixels != nullptr);
}

TEST_CASE("decode_image: a PNG header asking for a huge image is refused before decoding", "[data]") {
  TempDir dir;
  const ImageShape gray{1, 2, 3};
  testing::write_png(dir / "small.png", gray, {1, 2, 3, 4, 5, 6});
  std::vector<uint8_t> png = testing::read_bytes(dir / "small.png");
  REQUIRE(decode_image(png.data(), png.size()).pixels != nullptr);
  // IHDR's width and height (big-endian, bytes 16..23) set to 8192 x 8192: 64M pixels, inside
  // stb's own limit (2^30 bytes) but a 64 MB buffer for a 1 kB file.
  for (size_t at : {size_t{16}, size_t{20}}) png[at] = 0, png[at + 1] = 0, png[at + 2] = 0x20, png[at + 3] = 0;
  const DecodedImage d = decode_image(png.data(), png.size());
  CHECK(d.pixels == nullptr);
  CHECK_THAT(d.error, Contains("8192x8192") && Contains("pixels ImageFolder accepts"));
}

TEST_CASE("decode_image: an unknown critical PNG chunk is reported by qgrad, not stb's shared buffer", "[data]") {
  TempDir dir;
  const ImageShape gray{1, 2, 3};
  testing::write_png(dir / "small.png", gray, {1, 2, 3, 4, 5, 6});
  std::vector<uint8_t> png = testing::read_bytes(dir / "small.png");
  // After IHDR (8-byte signature + 12 + 13 bytes): an empty chunk of type "\0ABC" (critical:
  // bit 5 of its first byte is 0) with a dummy CRC. stb 2.27's own message for it would be "".
  const std::vector<uint8_t> chunk = {0, 0, 0, 0, 0, 'A', 'B', 'C', 1, 2, 3, 4};
  png.insert(png.begin() + 33, chunk.begin(), chunk.end());
  const DecodedImage d = decode_image(png.data(), png.size());
  CHECK(d.pixels == nullptr);
  CHECK_THAT(d.error, Contains("PNG chunk '\\x00ABC' at byte 33 is critical"));
  // An unknown ancillary chunk (lower-case first letter) is skipped, as the PNG spec says.
  png[33 + 4] = 'z';
  CHECK(decode_image(png.data(), png.size()).pixels != nullptr);
  // Cut before IEND (its 12 bytes), or with that chunk's length running past the end: stb reads
  // zeros, a chunk of type 0, whose message would be "" too.
  std::vector<uint8_t> cut(png.begin(), png.end() - 12);
  CHECK_THAT(decode_image(cut.data(), cut.size()).error, Contains("PNG ends before its IEND chunk"));
  png[33 + 2] = 0x7F;
  CHECK_THAT(decode_image(png.data(), png.size()).error, Contains("PNG ends before its IEND chunk"));
}

TEST_CASE("ImageFolder: a JPEG with an oversized Huffman table is an error naming the file", "[data]") {
  TempDir dir;
  const std::vector<uint8_t> jpeg = real_jpeg(dir);
  testing::write_bytes(dir / "set/cat/0.jpg", jpeg);
  testing::write_bytes(dir / "set/cat/1.jpg", insert_at(jpeg, 2, dht(std::vector<uint8_t>(16, 255))));
  CHECK_THROWS_WITH(ImageFolder(dir / "set"), Contains("cat/1.jpg") && Contains("Bogus Huffman table definition"));
}
