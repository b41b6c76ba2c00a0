#include "datasets/cifar10.h"

#include <filesystem>

#include "core/error.h"
#include "datasets/gzip_file.h"
#include "datasets/image_folder.h"

namespace qgrad::data {
namespace {

namespace fs = std::filesystem;

constexpr ImageShape kShape{3, 32, 32};
constexpr size_t kRecordBytes = 1 + 3 * 32 * 32;

Dataset load_binary(const fs::path& batches, Split split) {
  std::vector<std::string> names;
  if (split == Split::Train) {
    for (int i = 1; i <= 5; ++i) names.push_back(cat("data_batch_", i, ".bin"));
  } else {
    names.push_back("test_batch.bin");
  }
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  for (const std::string& name : names) {
    const std::string path = (batches / name).string();
    std::error_code ec;
    check(fs::exists(path, ec), "CIFAR10", "missing ", path, " (", batches.string(),
          " must hold data_batch_1..5.bin and test_batch.bin). Run `make data` to fetch CIFAR-10.");
    std::vector<uint8_t> bytes = read_file(path);
    check(!bytes.empty() && bytes.size() % kRecordBytes == 0, "CIFAR10", path, ": size ", bytes.size(),
          " bytes is not a positive multiple of the ", kRecordBytes, "-byte record (1 label + 3072 pixels)");
    const size_t records = bytes.size() / kRecordBytes;
    pixels.reserve(pixels.size() + records * (kRecordBytes - 1));
    for (size_t r = 0; r < records; ++r) {
      const uint8_t* rec = bytes.data() + r * kRecordBytes;
      check(rec[0] < 10, "CIFAR10", path, ": label ", int{rec[0]}, " of record ", r, " is outside 0..9");
      labels.push_back(rec[0]);
      pixels.insert(pixels.end(), rec + 1, rec + kRecordBytes);
    }
  }
  return Dataset(kShape, std::move(pixels), std::move(labels), cifar10_classes());
}

Dataset load_jpeg_folder(const fs::path& split_dir) {
  ImageFolder folder(split_dir.string(), {.channels = kShape.channels, .height = kShape.height, .width = kShape.width});
  check(folder.classes() == cifar10_classes(), "CIFAR10", split_dir.string(),
        ": class subfolders are not the 10 CIFAR-10 classes (airplane, automobile, ..., truck)");
  return folder;
}

Dataset load_cifar10(const std::string& dir, Split split) {
  const fs::path root(dir), batches = root / "cifar-10-batches-bin";
  const fs::path split_dir = root / (split == Split::Train ? "train" : "test");
  std::error_code ec;
  if (fs::is_directory(batches, ec)) return load_binary(batches, split);
  if (fs::is_directory(split_dir, ec)) return load_jpeg_folder(split_dir);
  fail("CIFAR10", "no CIFAR-10 data in ", dir, ": looked for ", batches.string(), "/ (official binary batches) and ",
       split_dir.string(), "/<class>/*.jpg (image folders). Run `make data` to fetch CIFAR-10 into data/cifar10.");
}

}  // namespace

const std::vector<std::string>& cifar10_classes() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

Normalization cifar10_normalization() {
  return {.mean = {0.4914f, 0.4822f, 0.4465f}, .std = {0.2470f, 0.2435f, 0.2616f}};
}

CIFAR10::CIFAR10(const std::string& dir, Split split) : Dataset(load_cifar10(dir, split)) {
  set_name(folder_name(dir));
  set_normalization(cifar10_normalization());
}

}  // namespace qgrad::data
