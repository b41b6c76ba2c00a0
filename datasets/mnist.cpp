#include "datasets/mnist.h"

#include <filesystem>

#include "core/error.h"
#include "datasets/gzip_file.h"

namespace qgrad::data {
namespace {

constexpr uint32_t kImagesMagic = 2051, kLabelsMagic = 2049;

// Reads the big-endian uint32 header field at byte offset `at` (the caller checked the size).
uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | uint32_t{b[at + 3]};
}

std::string hex(uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xf];
  return s;
}

// The plain file if present, else the .gz; fails listing both names when neither exists.
std::string find_idx(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  fs::path plain = fs::path(dir) / name, gz = fs::path(dir) / (name + ".gz");
  std::error_code ec;
  if (fs::exists(plain, ec)) return plain.string();
  if (fs::exists(gz, ec)) return gz.string();
  fail("MNIST", "missing ", name, ": looked for ", plain.string(), " and ", gz.string(),
       ". Run `make data` (scripts/fetch_data.sh) to fetch MNIST into data/mnist.");
}

void check_size(const std::string& path, size_t expected, size_t got) {
  check(got >= expected, "MNIST", path, ": truncated: expected ", expected, " bytes, got ", got);
  check(got == expected, "MNIST", path, ": size mismatch: header implies ", expected, " bytes, got ", got,
        " (", got - expected, " trailing bytes)");
}

// Reads an IDX file and checks its magic number and size; returns the bytes.
std::vector<uint8_t> read_idx(const std::string& path, uint32_t magic, size_t header_bytes) {
  std::vector<uint8_t> b = read_file(path);
  check(b.size() >= header_bytes, "MNIST", path, ": truncated: expected at least a ", header_bytes,
        "-byte header, got ", b.size(), " bytes");
  check(be32(b, 0) == magic, "MNIST", path, ": bad magic ", hex(be32(b, 0)), " (expected ", magic, ")");
  return b;
}

Dataset load_mnist(const std::string& dir, Split split) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images_path = find_idx(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx(dir, prefix + "-labels-idx1-ubyte");

  std::vector<uint8_t> images = read_idx(images_path, kImagesMagic, 16);
  const uint32_t n = be32(images, 4), rows = be32(images, 8), cols = be32(images, 12);
  // Bounding H and W keeps N*H*W inside 64 bits for any 32-bit N.
  check(rows > 0 && cols > 0 && rows <= 65536 && cols <= 65536, "MNIST", images_path,
        ": implausible image size ", rows, "x", cols, " in header");
  const size_t image_bytes = size_t{rows} * cols;
  check_size(images_path, 16 + size_t{n} * image_bytes, images.size());

  std::vector<uint8_t> label_bytes = read_idx(labels_path, kLabelsMagic, 8);
  const uint32_t n_labels = be32(label_bytes, 4);
  check_size(labels_path, 8 + size_t{n_labels}, label_bytes.size());
  check(n_labels == n, "MNIST", labels_path, ": holds ", n_labels, " labels but ", images_path, " holds ", n,
        " images");

  std::vector<int32_t> labels(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t l = label_bytes[8 + i];
    check(l <= 9, "MNIST", labels_path, ": label ", int{l}, " of image ", i, " is outside 0..9");
    labels[i] = l;
  }
  images.erase(images.begin(), images.begin() + 16);  // one memmove; keeps a single buffer
  return Dataset({1, static_cast<int64_t>(rows), static_cast<int64_t>(cols)}, std::move(images),
                 std::move(labels), {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
}

// Whether dir holds the training split's files (plain or .gz).
bool has_training_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"})
    if (!fs::exists(fs::path(dir) / name, ec) && !fs::exists(fs::path(dir) / (std::string(name) + ".gz"), ec))
      return false;
  return true;
}

Dataset load_named(const std::string& dir, Split split) {
  Dataset set = load_mnist(dir, split);
  set.set_name(folder_name(dir));
  if (split == Split::Train)
    set.set_normalization(channel_statistics(set));
  else if (has_training_files(dir))
    set.set_normalization(channel_statistics(load_mnist(dir, Split::Train)));
  return set;
}

}  // namespace

MNIST::MNIST(const std::string& dir, Split split) : Dataset(load_named(dir, split)) {}

}  // namespace qgrad::data
