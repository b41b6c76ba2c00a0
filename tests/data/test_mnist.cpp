// MNIST: synthetic IDX files (plain and gzipped) load with exact pixels and labels; every kind
// of broken file is rejected with a message naming the file; another IDX data set is named by
// its folder and normalized by its own training images' statistics, never MNIST's; the real
// test set loads when the offline mirror (QGRAD_DATA_MIRROR) or the repository's data/ holds it.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "data/data_files.h"
#include "datasets/mnist.h"

using namespace qgrad;
using namespace qgrad::data;
using qgrad::testing::TempDir;

namespace {

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

std::vector<uint8_t> idx_images(uint32_t n, uint32_t rows, uint32_t cols, const std::vector<uint8_t>& pixels,
                                uint32_t magic = 2051) {
  std::vector<uint8_t> out;
  for (uint32_t v : {magic, n, rows, cols}) put_be32(out, v);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

std::vector<uint8_t> idx_labels(uint32_t n, const std::vector<uint8_t>& labels, uint32_t magic = 2049) {
  std::vector<uint8_t> out;
  for (uint32_t v : {magic, n}) put_be32(out, v);
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// Three 2x3 images with distinct, nonzero bytes; labels 7, 0, 9.
std::vector<uint8_t> pixels3() {
  std::vector<uint8_t> p(18);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(10 * i + 5);
  return p;
}
const std::vector<uint8_t> kLabels3 = {7, 0, 9};

void write_train(const TempDir& dir, const std::vector<uint8_t>& images, const std::vector<uint8_t>& labels) {
  testing::write_bytes(dir / "train-images-idx3-ubyte", images);
  testing::write_bytes(dir / "train-labels-idx1-ubyte", labels);
}

void check_three(const Dataset& ds) {
  REQUIRE(ds.size() == 3);
  CHECK(ds.shape() == ImageShape{1, 2, 3});
  CHECK(ds.classes().size() == 10);
  CHECK(ds.classes()[7] == "7");
  const std::vector<uint8_t> p = pixels3();
  for (size_t i = 0; i < 3; ++i) {
    Sample s = ds.get(i);
    CHECK(s.label == kLabels3[i]);
    CHECK(std::vector<uint8_t>(s.pixels, s.pixels + 6) == std::vector<uint8_t>(p.begin() + 6 * i, p.begin() + 6 * i + 6));
  }
}

}  // namespace

TEST_CASE("MNIST: plain IDX files load with exact pixels and labels", "[data]") {
  TempDir dir;
  write_train(dir, idx_images(3, 2, 3, pixels3()), idx_labels(3, kLabels3));
  check_three(MNIST(dir.str(), Split::Train));
}

TEST_CASE("MNIST: gzipped IDX files load the same; the test split reads t10k files", "[data]") {
  TempDir dir;
  testing::write_gzip(dir / "t10k-images-idx3-ubyte.gz", idx_images(3, 2, 3, pixels3()));
  testing::write_gzip(dir / "t10k-labels-idx1-ubyte.gz", idx_labels(3, kLabels3));
  const MNIST test(dir.str(), Split::Test);
  check_three(test);
  CHECK(test.normalization().mean.empty());  // no training images to compute it from
  CHECK_THROWS_WITH(MNIST(dir.str(), Split::Train), Catch::Contains("train-images-idx3-ubyte"));
}

TEST_CASE("MNIST: another IDX data set is named by its folder and normalized by its own training images", "[data]") {
  TempDir root;
  const std::string dir = root / "inverted-digits";
  // Training pixels 255 - p (an "inverted" set, as Fashion-MNIST is far brighter than MNIST);
  // the test images differ, so statistics taken from them would differ.
  std::vector<uint8_t> train_pixels = pixels3();
  for (uint8_t& p : train_pixels) p = static_cast<uint8_t>(255 - p);
  testing::write_bytes(dir + "/train-images-idx3-ubyte", idx_images(3, 2, 3, train_pixels));
  testing::write_bytes(dir + "/train-labels-idx1-ubyte", idx_labels(3, kLabels3));
  testing::write_gzip(dir + "/t10k-images-idx3-ubyte.gz", idx_images(3, 2, 3, pixels3()));
  testing::write_gzip(dir + "/t10k-labels-idx1-ubyte.gz", idx_labels(3, kLabels3));

  double sum = 0, sum_sq = 0;
  for (uint8_t p : train_pixels) {
    sum += p / 255.0;
    sum_sq += (p / 255.0) * (p / 255.0);
  }
  const double mean = sum / 18, stdev = std::sqrt(sum_sq / 18 - mean * mean);
  const MNIST train(dir, Split::Train), test(dir + "/", Split::Test);
  for (const Dataset* set : {static_cast<const Dataset*>(&train), static_cast<const Dataset*>(&test)}) {
    CHECK(set->name() == "inverted-digits");
    REQUIRE(set->normalization().mean.size() == 1);
    CHECK(set->normalization().mean[0] == Approx(mean).epsilon(1e-6));
    CHECK(set->normalization().std[0] == Approx(stdev).epsilon(1e-6));
  }
  CHECK(std::abs(train.normalization().mean[0] - 0.1307f) > 0.1f);  // not MNIST's
  // A subset keeps the data set's name and normalization (--limit-train trains on one).
  const Dataset few = train.evenly_spaced(2);
  CHECK(few.name() == "inverted-digits");
  CHECK(few.normalization().std == train.normalization().std);
}

TEST_CASE("channel_statistics: per-channel mean and population std of pixels / 255", "[data]") {
  // Two 3-channel 1x2 images, planar: image i holds channel 0, 1, 2 pixel pairs in turn.
  const Dataset set({3, 1, 2}, {0, 255, 10, 20, 51, 102, /**/ 255, 0, 30, 40, 153, 204}, {0, 1}, {"a", "b"});
  const Normalization n = channel_statistics(set);
  REQUIRE(n.mean.size() == 3);
  CHECK(n.mean[0] == Approx(0.5));
  CHECK(n.std[0] == Approx(0.5));
  CHECK(n.mean[1] == Approx(25.0 / 255));
  CHECK(n.std[1] == Approx(std::sqrt(125.0) / 255));
  CHECK(n.mean[2] == Approx((51 + 102 + 153 + 204) / 4.0 / 255));
  CHECK(n.std[2] == Approx(std::sqrt((2 * 76.5 * 76.5 + 2 * 25.5 * 25.5) / 4) / 255));
  // One value everywhere: no spread to divide by.
  const Dataset flat({1, 1, 2}, {7, 7, 7, 7}, {0, 0}, {"a"});
  CHECK_THROWS_WITH(channel_statistics(flat), Catch::Contains("channel 0 has the same value in every pixel"));
}

TEST_CASE("MNIST: the unpacked file wins over the .gz when both exist", "[data]") {
  TempDir dir;
  write_train(dir, idx_images(3, 2, 3, pixels3()), idx_labels(3, kLabels3));
  testing::write_gzip(dir / "train-labels-idx1-ubyte.gz", idx_labels(3, {1, 1, 1}));
  CHECK(MNIST(dir.str(), Split::Train).get(0).label == 7);
}

TEST_CASE("MNIST: a missing file names the files looked for and make data", "[data]") {
  TempDir dir;
  CHECK_THROWS_WITH(MNIST(dir.str(), Split::Train),
                    Catch::Contains("looked for " + (dir / "train-images-idx3-ubyte")) &&
                        Catch::Contains("train-images-idx3-ubyte.gz") && Catch::Contains("make data"));
  testing::write_bytes(dir / "train-images-idx3-ubyte", idx_images(3, 2, 3, pixels3()));
  CHECK_THROWS_WITH(MNIST(dir.str(), Split::Train), Catch::Contains("missing train-labels-idx1-ubyte"));
}

TEST_CASE("MNIST: hostile files are rejected naming the file and the problem", "[data]") {
  TempDir dir;
  const std::string images = dir / "train-images-idx3-ubyte", labels = dir / "train-labels-idx1-ubyte";
  const std::vector<uint8_t> good_images = idx_images(3, 2, 3, pixels3()), good_labels = idx_labels(3, kLabels3);
  auto load = [&] { MNIST(dir.str(), Split::Train); };

  SECTION("bad image magic") {
    write_train(dir, idx_images(3, 2, 3, pixels3(), 2049), good_labels);
    CHECK_THROWS_WITH(load(), Catch::Contains(images + ": bad magic 0x00000801 (expected 2051)"));
  }
  SECTION("bad label magic") {
    write_train(dir, good_images, idx_labels(3, kLabels3, 2051));
    CHECK_THROWS_WITH(load(), Catch::Contains(labels + ": bad magic 0x00000803 (expected 2049)"));
  }
  SECTION("header cut short") {
    write_train(dir, std::vector<uint8_t>(good_images.begin(), good_images.begin() + 10), good_labels);
    CHECK_THROWS_WITH(load(), Catch::Contains(images + ": truncated: expected at least a 16-byte header, got 10"));
  }
  SECTION("image data truncated") {
    write_train(dir, std::vector<uint8_t>(good_images.begin(), good_images.end() - 4), good_labels);
    CHECK_THROWS_WITH(load(), Catch::Contains(images + ": truncated: expected 34 bytes, got 30"));
  }
  SECTION("trailing bytes after the images") {
    std::vector<uint8_t> longer = good_images;
    longer.push_back(1);
    write_train(dir, longer, good_labels);
    CHECK_THROWS_WITH(load(), Catch::Contains(images + ": size mismatch: header implies 34 bytes, got 35"));
  }
  SECTION("label file truncated") {
    write_train(dir, good_images, std::vector<uint8_t>(good_labels.begin(), good_labels.end() - 1));
    CHECK_THROWS_WITH(load(), Catch::Contains(labels + ": truncated: expected 11 bytes, got 10"));
  }
  SECTION("zero-sized images") {
    write_train(dir, idx_images(3, 0, 3, {}), good_labels);
    CHECK_THROWS_WITH(load(), Catch::Contains(images + ": implausible image size 0x3"));
  }
  SECTION("image and label counts disagree") {
    write_train(dir, good_images, idx_labels(2, {1, 2}));
    CHECK_THROWS_WITH(load(), Catch::Contains(labels + ": holds 2 labels but " + images + " holds 3 images"));
  }
  SECTION("label out of range") {
    write_train(dir, good_images, idx_labels(3, {7, 10, 9}));
    CHECK_THROWS_WITH(load(), Catch::Contains(labels + ": label 10 of image 1 is outside 0..9"));
  }
  SECTION("corrupt gzip stream") {
    testing::write_gzip(images + ".gz", good_images);
    testing::write_bytes(labels, good_labels);
    TempDir scratch;
    std::vector<uint8_t> many(300 * 784);
    for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<uint8_t>(i * 31 % 251);
    testing::write_gzip(scratch / "full.gz", idx_images(300, 28, 28, many));
    std::vector<uint8_t> gz = testing::read_bytes(scratch / "full.gz");
    gz.resize(gz.size() / 2);  // cut the stream in the middle
    testing::write_bytes(images + ".gz", gz);
    CHECK_THROWS_WITH(load(), Catch::Contains(images + ".gz: corrupt gzip data"));
  }
}

// The real MNIST test set: CI points QGRAD_DATA_MIRROR at the offline mirror.
TEST_CASE("MNIST: the real test set has 10,000 images with the known label counts", "[data][e2e]") {
  const std::string dir = testing::real_mnist_dir();
  if (dir.empty()) {
    WARN("skipping the real-MNIST check: no MNIST (run make data or set QGRAD_DATA_MIRROR)");
    return;
  }
  MNIST test(dir, Split::Test);
  REQUIRE(test.size() == 10000);
  CHECK(test.shape() == ImageShape{1, 28, 28});
  std::vector<int> counts(10, 0);
  for (int32_t l : test.labels()) ++counts[static_cast<size_t>(l)];
  CHECK(counts == std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
  // The first test digit is a 7 (a fact of the original file order).
  CHECK(test.get(0).label == 7);
  // Computed from the 60,000 training images: the published 0.1307 / 0.3081.
  CHECK(test.name() == "mnist");
  CHECK(test.normalization().mean[0] == Approx(0.1307).margin(5e-5));
  CHECK(test.normalization().std[0] == Approx(0.3081).margin(5e-5));
}
