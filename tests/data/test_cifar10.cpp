// CIFAR-10: the official binary batches and the JPEG image-folder copy both load, with the
// documented preference; hostile batch files and folders are rejected naming the file.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "data/data_files.h"
#include "datasets/cifar10.h"

using namespace qgrad;
using namespace qgrad::data;
using qgrad::testing::TempDir;

namespace {

constexpr size_t kRecord = 3073;

// One record: label, then 3072 bytes where byte k = (tag + 7*k) % 256 (R plane, G, B).
std::vector<uint8_t> record(uint8_t label, int tag) {
  std::vector<uint8_t> r(kRecord);
  r[0] = label;
  for (size_t k = 0; k < 3072; ++k) r[1 + k] = static_cast<uint8_t>((tag + 7 * k) % 256);
  return r;
}

// Writes batch files data_batch_1..5 (one record each, labels 0..4, tags 1..5) and test_batch
// (two records, labels 9 and 3, tags 10, 11).
void write_batches(const TempDir& dir) {
  for (int i = 1; i <= 5; ++i)
    testing::write_bytes(dir / ("cifar-10-batches-bin/data_batch_" + std::to_string(i) + ".bin"),
                         record(static_cast<uint8_t>(i - 1), i));
  std::vector<uint8_t> test = record(9, 10), second = record(3, 11);
  test.insert(test.end(), second.begin(), second.end());
  testing::write_bytes(dir / "cifar-10-batches-bin/test_batch.bin", test);
}

std::vector<uint8_t> pixels_of(const Dataset& ds, size_t i) {
  Sample s = ds.get(i);
  return std::vector<uint8_t>(s.pixels, s.pixels + ds.shape().numel());
}

std::vector<uint8_t> record_pixels(int tag) {
  std::vector<uint8_t> r = record(0, tag);
  return std::vector<uint8_t>(r.begin() + 1, r.end());
}

// train/<class>/0.jpg and test/<class>/0.jpg for the ten CIFAR classes, each a flat colour
// whose red value is 20 * (label + 1).
void write_jpeg_folders(const TempDir& dir) {
  const ImageShape rgb{3, 32, 32};
  for (const char* split : {"train", "test"})
    for (size_t c = 0; c < cifar10_classes().size(); ++c) {
      std::vector<uint8_t> img(3072, 128);
      std::fill(img.begin(), img.begin() + 1024, static_cast<uint8_t>(20 * (c + 1)));
      testing::write_jpg(dir / (std::string(split) + "/" + cifar10_classes()[c] + "/0.jpg"), rgb, img);
    }
}

}  // namespace

TEST_CASE("CIFAR10: binary batches load in file order with exact pixels", "[data]") {
  TempDir dir;
  write_batches(dir);
  CIFAR10 train(dir.str(), Split::Train);
  CHECK(train.shape() == ImageShape{3, 32, 32});
  CHECK(train.classes() == cifar10_classes());
  CHECK(train.classes()[0] == "airplane");
  CHECK(train.classes()[9] == "truck");
  REQUIRE(train.size() == 5);
  CHECK(train.labels() == std::vector<int32_t>{0, 1, 2, 3, 4});
  for (size_t i = 0; i < 5; ++i) CHECK(pixels_of(train, i) == record_pixels(static_cast<int>(i) + 1));

  CIFAR10 test(dir.str(), Split::Test);
  REQUIRE(test.size() == 2);
  CHECK(test.labels() == std::vector<int32_t>{9, 3});
  CHECK(pixels_of(test, 1) == record_pixels(11));
}

TEST_CASE("CIFAR10: the JPEG image folders load through ImageFolder", "[data]") {
  TempDir dir;
  write_jpeg_folders(dir);
  CIFAR10 train(dir.str(), Split::Train);
  REQUIRE(train.size() == 10);
  CHECK(train.classes() == cifar10_classes());
  for (size_t i = 0; i < 10; ++i) {
    CHECK(train.get(i).label == static_cast<int32_t>(i));
    CHECK(std::abs(int{train.get(i).pixels[0]} - int(20 * (i + 1))) <= 3);  // red plane
    CHECK(std::abs(int{train.get(i).pixels[2048]} - 128) <= 3);            // blue plane
  }
  CHECK(CIFAR10(dir.str(), Split::Test).size() == 10);
}

TEST_CASE("CIFAR10: the official binary batches win over JPEG folders", "[data]") {
  TempDir dir;
  write_jpeg_folders(dir);
  write_batches(dir);
  CHECK(CIFAR10(dir.str(), Split::Train).size() == 5);
}

TEST_CASE("CIFAR10: hostile files and folders are rejected naming the problem", "[data]") {
  TempDir dir;
  const std::string bin = dir / "cifar-10-batches-bin";
  SECTION("no data at all") {
    CHECK_THROWS_WITH(CIFAR10(dir.str(), Split::Train),
                      Catch::Contains("looked for " + bin) && Catch::Contains(dir / "train") && Catch::Contains("make data"));
  }
  SECTION("a batch file missing") {
    write_batches(dir);
    std::remove((bin + "/data_batch_3.bin").c_str());
    CHECK_THROWS_WITH(CIFAR10(dir.str(), Split::Train), Catch::Contains("missing " + bin + "/data_batch_3.bin"));
  }
  SECTION("size not a multiple of 3073") {
    write_batches(dir);
    std::vector<uint8_t> r = record(1, 1);
    r.push_back(0);
    testing::write_bytes(bin + "/data_batch_2.bin", r);
    CHECK_THROWS_WITH(CIFAR10(dir.str(), Split::Train),
                      Catch::Contains(bin + "/data_batch_2.bin: size 3074 bytes is not a positive multiple of the 3073"));
  }
  SECTION("empty batch file") {
    write_batches(dir);
    testing::write_bytes(bin + "/test_batch.bin", {});
    CHECK_THROWS_WITH(CIFAR10(dir.str(), Split::Test), Catch::Contains(bin + "/test_batch.bin: size 0 bytes"));
  }
  SECTION("label out of range") {
    write_batches(dir);
    std::vector<uint8_t> two = record(2, 1), bad = record(10, 2);
    two.insert(two.end(), bad.begin(), bad.end());
    testing::write_bytes(bin + "/data_batch_4.bin", two);
    CHECK_THROWS_WITH(CIFAR10(dir.str(), Split::Train),
                      Catch::Contains(bin + "/data_batch_4.bin: label 10 of record 1 is outside 0..9"));
  }
  SECTION("JPEG of the wrong size") {
    write_jpeg_folders(dir);
    const ImageShape small{3, 16, 16};
    testing::write_jpg(dir / "train/cat/1.jpg", small, std::vector<uint8_t>(768, 99));
    CHECK_THROWS_WITH(CIFAR10(dir.str(), Split::Train),
                      Catch::Contains(dir / "train/cat/1.jpg") && Catch::Contains("expected 32x32 with 3"));
  }
  SECTION("folders that are not the CIFAR classes") {
    testing::write_jpg(dir / "test/cats/0.jpg", {3, 32, 32}, std::vector<uint8_t>(3072, 50));
    CHECK_THROWS_WITH(CIFAR10(dir.str(), Split::Test), Catch::Contains("not the 10 CIFAR-10 classes"));
  }
}
