#include "datasets/image_decode.h"

#include <jpeglib.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "core/error.h"

// stb_image's implementation is compiled here, once for the library, for PNG only: JPEGs go to
// libjpeg-turbo (image_decode.h says why).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb_image.h>

namespace qgrad::data {
namespace {

// ImageFolder holds small training images; a header claiming more pixels than this is refused
// before a decoder allocates for it (a crafted 1-kB header can otherwise ask for gigabytes).
constexpr int64_t kMaxPixels = int64_t{1} << 24;
// A progressive JPEG may hold any number of scans, each a pass over the whole image: a few kB
// of them take minutes. libjpeg-turbo's own fuzzers stop at 500; real files have about 10.
constexpr int kMaxJpegScans = 500;

std::string too_many_pixels(int64_t h, int64_t w) {
  return cat("image is ", h, "x", w, ", more than the ", kMaxPixels, " pixels ImageFolder accepts");
}

// libjpeg reports errors by calling error_exit, which must not return: it jumps back into
// decode_jpeg with the message.
struct JpegErrors {
  jpeg_error_mgr mgr;
  jpeg_progress_mgr progress;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_fail(j_common_ptr cinfo) {
  auto* e = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, e->message);
  std::longjmp(e->jump, 1);
}

void jpeg_ignore_warning(j_common_ptr, int) {}

void jpeg_limit_scans(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    auto* e = reinterpret_cast<JpegErrors*>(cinfo->err);
    std::snprintf(e->message, sizeof e->message, "more than %d progressive scans", kMaxJpegScans);
    std::longjmp(e->jump, 1);
  }
}

// Gray JPEGs give one channel, all others RGB (three), as stb_image did. Only trivially
// destructible objects live between setjmp and longjmp.
DecodedImage decode_jpeg(const uint8_t* bytes, size_t size) {
  DecodedImage d;
  jpeg_decompress_struct cinfo;
  JpegErrors errors;
  uint8_t* volatile out = nullptr;
  cinfo.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = jpeg_fail;
  errors.mgr.emit_message = jpeg_ignore_warning;  // corrupt data is decoded as far as it goes
  errors.progress.progress_monitor = jpeg_limit_scans;
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&cinfo);
    std::free(out);
    d.error = cat("JPEG: ", errors.message);
    return d;
  }
  jpeg_create_decompress(&cinfo);
  cinfo.progress = &errors.progress;
  jpeg_mem_src(&cinfo, bytes, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (int64_t{cinfo.image_width} * cinfo.image_height > kMaxPixels) {
    d.error = too_many_pixels(cinfo.image_height, cinfo.image_width);
    jpeg_destroy_decompress(&cinfo);
    return d;
  }
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const size_t row = size_t{cinfo.output_width} * static_cast<size_t>(cinfo.output_components);
  out = static_cast<uint8_t*>(std::malloc(row * cinfo.output_height));
  if (!out) {
    std::snprintf(errors.message, sizeof errors.message, "out of memory");
    std::longjmp(errors.jump, 1);
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW line = out + size_t{cinfo.output_scanline} * row;
    jpeg_read_scanlines(&cinfo, &line, 1);
  }
  jpeg_finish_decompress(&cinfo);
  d.shape = {cinfo.output_components, cinfo.output_height, cinfo.output_width};
  jpeg_destroy_decompress(&cinfo);
  d.pixels = {out, std::free};
  return d;
}

DecodedImage decode_png(const uint8_t* bytes, size_t size) {
  DecodedImage d;
  d.error = png_unknown_critical_chunk(bytes, size);
  if (!d.error.empty()) return d;
  const int len = static_cast<int>(size);
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(bytes, len, &w, &h, &c)) {
    d.error = stbi_failure_reason() ? stbi_failure_reason() : "not a PNG file";
    return d;
  }
  if (int64_t{w} * h > kMaxPixels) {
    d.error = too_many_pixels(h, w);
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

}  // namespace

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
  if (size > size_t{INT_MAX}) {
    DecodedImage d;
    d.error = cat("file is ", size, " bytes, more than the decoders read (2 GiB)");
    return d;
  }
  if (size >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8) return decode_jpeg(bytes, size);  // SOI
  return decode_png(bytes, size);
}

}  // namespace qgrad::data
