#include "data/data_files.h"

#include <stdlib.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#define STB_IMAGE_WRITE_IMPLEMENTATION
// stb_image_write.h fills its structs with `= {0}`, which -Wextra flags; the header is not ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace qgrad::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "qgrad_data_test_XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  root_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

static void make_parent(const std::string& path) { fs::create_directories(fs::path(path).parent_path()); }

std::string real_mnist_dir() {
  const char* mirror = std::getenv("QGRAD_DATA_MIRROR");
  const std::string dir = (mirror && *mirror ? std::string(mirror) : std::string(QGRAD_SOURCE_DIR) + "/data") + "/mnist";
  std::error_code ec;
  return fs::exists(dir + "/t10k-labels-idx1-ubyte.gz", ec) ? dir : "";
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  make_parent(path);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  make_parent(path);
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot gzopen " + path);
  int wrote = bytes.empty() ? 0 : gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  if (gzclose(f) != Z_OK || wrote != static_cast<int>(bytes.size())) throw std::runtime_error("gzwrite " + path);
}

// stb_image_write wants H x W x C interleaved.
static std::vector<uint8_t> interleaved(const data::ImageShape& s, const std::vector<uint8_t>& chw) {
  std::vector<uint8_t> hwc(chw.size());
  const int64_t plane = s.height * s.width;
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t p = 0; p < plane; ++p) hwc[p * s.channels + c] = chw[c * plane + p];
  return hwc;
}

void write_png(const std::string& path, const data::ImageShape& s, const std::vector<uint8_t>& chw) {
  make_parent(path);
  std::vector<uint8_t> hwc = interleaved(s, chw);
  int w = static_cast<int>(s.width), h = static_cast<int>(s.height), c = static_cast<int>(s.channels);
  if (!stbi_write_png(path.c_str(), w, h, c, hwc.data(), w * c)) throw std::runtime_error("cannot write " + path);
}

void write_jpg(const std::string& path, const data::ImageShape& s, const std::vector<uint8_t>& chw) {
  make_parent(path);
  std::vector<uint8_t> hwc = interleaved(s, chw);
  int w = static_cast<int>(s.width), h = static_cast<int>(s.height), c = static_cast<int>(s.channels);
  if (!stbi_write_jpg(path.c_str(), w, h, c, hwc.data(), 100)) throw std::runtime_error("cannot write " + path);
}

}  // namespace qgrad::testing
