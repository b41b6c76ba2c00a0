#include "datasets/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "core/parallel.h"
#include "datasets/image_decode.h"

namespace qgrad::data {
namespace {

namespace fs = std::filesystem;

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

std::vector<fs::path> sorted_entries(const fs::path& dir, bool want_dirs) {
  std::vector<fs::path> out;
  try {
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      if (want_dirs ? e.is_directory() : (e.is_regular_file() && is_image(e.path()))) out.push_back(e.path());
    }
  } catch (const fs::filesystem_error& e) {
    fail("ImageFolder", dir.string(), ": cannot list: ", e.code().message());
  }
  std::sort(out.begin(), out.end());
  return out;
}

using Decoded = DecodedImage;

// Never throws (it runs inside the parallel loop, where a throw would stop the other files): a
// file that cannot be read is a Decoded error.
Decoded decode(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    Decoded d;
    d.error = "cannot read the file";
    return d;
  }
  return decode_image(bytes.data(), bytes.size());
}

// Checks a decoded image against the wanted shape; "" when it fits, else why not.
std::string mismatch(const Decoded& d, const ImageShape& want) {
  if (!d.pixels) return cat("cannot decode: ", d.error);
  if (d.shape == want) return "";
  return cat("image is ", d.shape.height, "x", d.shape.width, " with ", d.shape.channels, " channels, expected ",
             want.height, "x", want.width, " with ", want.channels);
}

// stb gives H x W x C interleaved; the dataset stores C x H x W planes.
void to_planar(const uint8_t* hwc, const ImageShape& s, uint8_t* chw) {
  const int64_t plane = s.height * s.width;
  for (int64_t p = 0; p < plane; ++p)
    for (int64_t c = 0; c < s.channels; ++c) chw[c * plane + p] = hwc[p * s.channels + c];
}

Dataset load_image_folder(const std::string& root, const ImageFolderOptions& opt) {
  std::error_code ec;
  check(fs::is_directory(root, ec), "ImageFolder", root, ": no such directory");
  check(opt.channels >= 0 && opt.height >= 0 && opt.width >= 0, "ImageFolder",
        "required sizes must be >= 0 (0 = any), got ", opt.channels, "x", opt.height, "x", opt.width);

  std::vector<std::string> classes;
  std::vector<std::string> files;
  std::vector<int32_t> labels;
  std::vector<std::string> empty_classes;
  for (const fs::path& class_dir : sorted_entries(root, true)) {
    const size_t before = files.size();
    for (const fs::path& f : sorted_entries(class_dir, false)) {
      files.push_back(f.string());
      labels.push_back(static_cast<int32_t>(classes.size()));
    }
    if (files.size() == before) empty_classes.push_back(class_dir.string());
    classes.push_back(class_dir.filename().string());
  }
  check(!files.empty(), "ImageFolder", root, ": no .png/.jpg/.jpeg images in any class subfolder (",
        classes.size(), " subfolders)");
  // A class without images would still get a label and an output, which no sample ever trains
  // or tests: almost always a mistake in the folder (a typo, an unfinished copy).
  check(empty_classes.empty(), "ImageFolder", empty_classes.empty() ? "" : empty_classes.front(),
        ": class folder without .png/.jpg/.jpeg images (", empty_classes.size(), " such folder(s) in ", root, ")");

  // The first image fixes whatever the options leave open.
  Decoded first = decode(files[0]);
  check(first.pixels != nullptr, "ImageFolder", files[0], ": cannot decode: ", first.error);
  ImageShape want{opt.channels ? opt.channels : first.shape.channels, opt.height ? opt.height : first.shape.height,
                  opt.width ? opt.width : first.shape.width};

  const int64_t n = static_cast<int64_t>(files.size());
  const size_t image_bytes = static_cast<size_t>(want.numel());
  std::vector<uint8_t> pixels(files.size() * image_bytes);
  std::vector<std::string> errors(files.size());
  parallel_for(n, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      Decoded d = i == 0 ? std::move(first) : decode(files[i]);
      errors[i] = mismatch(d, want);
      if (errors[i].empty()) to_planar(d.pixels.get(), want, pixels.data() + i * image_bytes);
    }
  });
  // Report the first bad file in sorted order, whichever thread met it first.
  for (size_t i = 0; i < files.size(); ++i) check(errors[i].empty(), "ImageFolder", files[i], ": ", errors[i]);
  return Dataset(want, std::move(pixels), std::move(labels), std::move(classes));
}

}  // namespace

ImageFolder::ImageFolder(const std::string& root, ImageFolderOptions options)
    : Dataset(load_image_folder(root, options)) {}

}  // namespace qgrad::data
