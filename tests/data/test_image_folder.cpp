// ImageFolder: classes and files come in sorted order, PNG pixels arrive exactly (in C x H x W
// order), JPEG pixels closely; files of the wrong size or that do not decode are errors naming them.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "data/data_files.h"
#include "datasets/image_folder.h"

using namespace qgrad;
using namespace qgrad::data;
using qgrad::testing::TempDir;

namespace {

// A C x H x W image whose every byte differs and depends on seed: byte k = (seed*37 + 11*k + 3) % 256.
std::vector<uint8_t> pattern(const ImageShape& s, int seed) {
  std::vector<uint8_t> img(static_cast<size_t>(s.numel()));
  for (size_t k = 0; k < img.size(); ++k) img[k] = static_cast<uint8_t>((seed * 37 + 11 * k + 3) % 256);
  return img;
}

std::vector<uint8_t> pixels_of(const Dataset& ds, size_t i) {
  Sample s = ds.get(i);
  return std::vector<uint8_t>(s.pixels, s.pixels + ds.shape().numel());
}

}  // namespace

TEST_CASE("ImageFolder: sorted classes and files, exact PNG pixels in CHW order", "[data]") {
  TempDir dir;
  const ImageShape rgb{3, 2, 3};
  // Written out of order, and with names whose byte order differs from numeric order.
  testing::write_png(dir / "zebra/2.png", rgb, pattern(rgb, 1));
  testing::write_png(dir / "zebra/10.png", rgb, pattern(rgb, 2));
  testing::write_png(dir / "ant/b.PNG", rgb, pattern(rgb, 3));
  testing::write_png(dir / "ant/a.png", rgb, pattern(rgb, 4));
  testing::write_bytes(dir / "ant/notes.txt", {1, 2, 3});  // not an image: ignored
  testing::write_bytes(dir / "stray.png", {1, 2, 3});      // not in a class folder: ignored

  ImageFolder ds(dir.str());
  CHECK(ds.classes() == std::vector<std::string>{"ant", "zebra"});
  CHECK(ds.shape() == rgb);
  REQUIRE(ds.size() == 4);
  CHECK(ds.labels() == std::vector<int32_t>{0, 0, 1, 1});
  CHECK(pixels_of(ds, 0) == pattern(rgb, 4));  // ant/a.png
  CHECK(pixels_of(ds, 1) == pattern(rgb, 3));  // ant/b.PNG
  CHECK(pixels_of(ds, 2) == pattern(rgb, 2));  // zebra/10.png sorts before 2.png
  CHECK(pixels_of(ds, 3) == pattern(rgb, 1));
}

TEST_CASE("ImageFolder: grayscale PNGs give one channel", "[data]") {
  TempDir dir;
  const ImageShape gray{1, 3, 2};
  testing::write_png(dir / "x/0.png", gray, pattern(gray, 5));
  ImageFolder ds(dir.str(), {.channels = 1, .height = 3, .width = 2});
  CHECK(ds.shape() == gray);
  CHECK(pixels_of(ds, 0) == pattern(gray, 5));
}

TEST_CASE("ImageFolder: JPEG pixels decode close to what was written", "[data]") {
  TempDir dir;
  const ImageShape rgb{3, 8, 8};
  // Flat colour per channel: JPEG at quality 100 keeps a flat block almost exactly.
  std::vector<uint8_t> img(static_cast<size_t>(rgb.numel()));
  const uint8_t colour[3] = {200, 90, 30};
  for (int c = 0; c < 3; ++c) std::fill(img.begin() + c * 64, img.begin() + (c + 1) * 64, colour[c]);
  testing::write_jpg(dir / "c/0.jpg", rgb, img);
  testing::write_jpg(dir / "c/1.jpeg", rgb, img);
  ImageFolder ds(dir.str(), {.channels = 3, .height = 8, .width = 8});
  REQUIRE(ds.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    std::vector<uint8_t> got = pixels_of(ds, i);
    for (size_t k = 0; k < got.size(); ++k) CHECK(std::abs(int{got[k]} - int{img[k]}) <= 3);
  }
}

TEST_CASE("ImageFolder: parallel decoding keeps the sorted order", "[data]") {
  TempDir dir;
  const ImageShape rgb{3, 4, 5};
  const int per_class = 150;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < per_class; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "class%d/%04d.png", c, i);
      testing::write_png(dir / name, rgb, pattern(rgb, c * per_class + i));
    }
  ImageFolder ds(dir.str());
  REQUIRE(ds.size() == 2 * per_class);
  for (size_t i = 0; i < ds.size(); ++i) {
    CHECK(ds.get(i).label == static_cast<int32_t>(i / per_class));
    CHECK(pixels_of(ds, i) == pattern(rgb, static_cast<int>(i)));
  }
}

TEST_CASE("ImageFolder: bad folders and files are rejected naming them", "[data]") {
  TempDir dir;
  const ImageShape rgb{3, 4, 4};
  SECTION("missing root") {
    CHECK_THROWS_WITH(ImageFolder(dir / "nope"), Catch::Contains(dir / "nope") && Catch::Contains("no such directory"));
  }
  SECTION("no images") {
    testing::write_bytes(dir / "a/readme.txt", {1});
    CHECK_THROWS_WITH(ImageFolder(dir.str()), Catch::Contains("no .png/.jpg/.jpeg images"));
  }
  SECTION("a class folder without images") {
    testing::write_png(dir / "a/0.png", rgb, pattern(rgb, 0));
    testing::write_bytes(dir / "b/readme.txt", {1});
    CHECK_THROWS_WITH(ImageFolder(dir.str()),
                      Catch::Contains(dir / "b") && Catch::Contains("class folder without .png/.jpg/.jpeg images"));
  }
  SECTION("undecodable file") {
    testing::write_png(dir / "a/0.png", rgb, pattern(rgb, 0));
    testing::write_bytes(dir / "a/1.png", {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
    CHECK_THROWS_WITH(ImageFolder(dir.str()),
                      Catch::Contains(dir / "a/1.png") && Catch::Contains("cannot decode: unknown image type"));
  }
  SECTION("undecodable first file") {
    testing::write_bytes(dir / "a/0.jpg", {0xff, 0xd8, 0xff, 0x00});
    CHECK_THROWS_WITH(ImageFolder(dir.str()), Catch::Contains(dir / "a/0.jpg") && Catch::Contains("cannot decode"));
  }
  SECTION("size differs from the required one") {
    testing::write_png(dir / "a/0.png", rgb, pattern(rgb, 0));
    const ImageShape small{3, 2, 4};
    testing::write_png(dir / "b/0.png", small, pattern(small, 1));
    CHECK_THROWS_WITH(ImageFolder(dir.str(), {.channels = 3, .height = 4, .width = 4}),
                      Catch::Contains(dir / "b/0.png") &&
                          Catch::Contains("image is 2x4 with 3 channels, expected 4x4 with 3"));
  }
  SECTION("channel count differs from the first image's") {
    testing::write_png(dir / "a/0.png", rgb, pattern(rgb, 0));
    const ImageShape gray{1, 4, 4};
    testing::write_png(dir / "a/1.png", gray, pattern(gray, 1));
    CHECK_THROWS_WITH(ImageFolder(dir.str()), Catch::Contains(dir / "a/1.png") &&
                                                  Catch::Contains("image is 4x4 with 1 channels, expected 4x4 with 3"));
  }
  SECTION("negative required size") {
    testing::write_png(dir / "a/0.png", rgb, pattern(rgb, 0));
    CHECK_THROWS_WITH(ImageFolder(dir.str(), {.height = -1}), Catch::Contains("must be >= 0"));
  }
}
