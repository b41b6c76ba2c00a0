// DataLoader and transforms on small in-memory datasets: batch counts, one visit per index per
// epoch, seeded shuffles, exact normalization, and the crop/flip geometry on a known image.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "datasets/data_loader.h"
#include "datasets/transforms.h"

using namespace qgrad;
using namespace qgrad::data;

namespace {

// n images of shape 1x1x2 that spell their own index: pixels (i % 256, i / 256), label i % 3.
Dataset indexed(size_t n) {
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  for (size_t i = 0; i < n; ++i) {
    pixels.push_back(static_cast<uint8_t>(i % 256));
    pixels.push_back(static_cast<uint8_t>(i / 256));
    labels.push_back(static_cast<int32_t>(i % 3));
  }
  return Dataset({1, 1, 2}, std::move(pixels), std::move(labels), {"a", "b", "c"});
}

// Reads the indices back out of a batch of `indexed` images (mean 0, std 1: value = byte / 255).
std::vector<size_t> indices_of(const Batch& b) {
  std::vector<float> v = b.images.to_vector<float>();
  std::vector<size_t> out;
  for (size_t i = 0; i + 1 < v.size(); i += 2)
    out.push_back(static_cast<size_t>(std::lround(v[i] * 255.f) + 256 * std::lround(v[i + 1] * 255.f)));
  return out;
}

std::vector<size_t> epoch_order(DataLoader& loader, uint64_t epoch) {
  loader.set_epoch(epoch);
  std::vector<size_t> all;
  for (size_t b = 0; b < loader.num_batches(); ++b) {
    std::vector<size_t> idx = indices_of(loader.batch(b));
    all.insert(all.end(), idx.begin(), idx.end());
  }
  return all;
}

// 1x3x4 image with bytes 1..12 (row-major), scaled by 10 so every value is distinct and nonzero.
Dataset known_image() {
  std::vector<uint8_t> p(12);
  for (size_t k = 0; k < 12; ++k) p[k] = static_cast<uint8_t>(10 * (k + 1));
  return Dataset({1, 3, 4}, p, {0}, {"only"});
}

// The bytes of an image under a placement, by the definition: pad by `pad` zeros, cut the
// H x W window at (dy, dx), mirror it when flip. Written independently of normalize_image.
std::vector<int> placed(const std::vector<int>& img, int H, int W, int pad, int dy, int dx, bool flip) {
  std::vector<int> padded((H + 2 * pad) * (W + 2 * pad), 0);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) padded[(y + pad) * (W + 2 * pad) + x + pad] = img[y * W + x];
  std::vector<int> window(H * W);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) window[y * W + x] = padded[(y + dy) * (W + 2 * pad) + x + dx];
  if (flip)
    for (int y = 0; y < H; ++y) std::reverse(window.begin() + y * W, window.begin() + (y + 1) * W);
  return window;
}

std::vector<int> bytes_of(const Tensor& images, int64_t i, int64_t numel) {
  std::vector<float> v = images.to_vector<float>();
  std::vector<int> out;
  for (int64_t k = 0; k < numel; ++k) out.push_back(static_cast<int>(std::lround(v[i * numel + k] * 255.f)));
  return out;
}

}  // namespace

TEST_CASE("Dataset: buffers that disagree are rejected", "[data]") {
  CHECK_THROWS_WITH(Dataset({1, 2, 2}, std::vector<uint8_t>(7, 1), {0, 0}, {"a"}),
                    Catch::Contains("7 pixel bytes do not hold 2 images of 1x2x2"));
  CHECK_THROWS_WITH(Dataset({1, 1, 1}, {1, 2}, {0, 2}, {"a", "b"}),
                    Catch::Contains("label 2 of image 1 is outside [0, 2)"));
  CHECK_THROWS_WITH(Dataset({0, 1, 1}, {}, {}, {"a"}), Catch::Contains("must be positive, got 0x1x1"));
  CHECK_THROWS_WITH(indexed(3).get(3), Catch::Contains("index 3 out of range for 3 images"));
}

TEST_CASE("DataLoader: batch count and sizes with and without drop_last", "[data]") {
  Dataset ds = indexed(10);
  DataLoader keep(ds, {.batch_size = 4});
  REQUIRE(keep.num_batches() == 3);
  CHECK(keep.batch(0).images.shape() == Shape{4, 1, 1, 2});
  CHECK(keep.batch(2).images.shape() == Shape{2, 1, 1, 2});
  CHECK(keep.batch(2).labels.shape() == Shape{2});
  CHECK(keep.batch(2).labels.dtype() == DType::Int32);
  CHECK(keep.batch(2).labels.to_vector<int32_t>() == std::vector<int32_t>{8 % 3, 9 % 3});
  CHECK(DataLoader(ds, {.batch_size = 4, .drop_last = true}).num_batches() == 2);
  CHECK(DataLoader(ds, {.batch_size = 5, .drop_last = true}).num_batches() == 2);
  CHECK(DataLoader(ds, {.batch_size = 5}).num_batches() == 2);
  CHECK(DataLoader(ds, {.batch_size = 11, .drop_last = true}).num_batches() == 0);
  CHECK_THROWS_WITH(keep.batch(3), Catch::Contains("batch 3 out of range for 3 batches"));
}

TEST_CASE("DataLoader: without shuffle the order is the dataset's", "[data]") {
  Dataset ds = indexed(7);
  DataLoader loader(ds, {.batch_size = 3});
  std::vector<size_t> expected{0, 1, 2, 3, 4, 5, 6};
  CHECK(epoch_order(loader, 0) == expected);
  CHECK(epoch_order(loader, 5) == expected);
}

TEST_CASE("DataLoader: shuffling visits every index once, seeded by (seed, epoch)", "[data]") {
  Dataset ds = indexed(300);
  DataLoader a(ds, {.batch_size = 32, .shuffle = true, .seed = 7});
  DataLoader b(ds, {.batch_size = 32, .shuffle = true, .seed = 7});
  DataLoader c(ds, {.batch_size = 32, .shuffle = true, .seed = 8});

  std::vector<size_t> e0 = epoch_order(a, 0), e1 = epoch_order(a, 1);
  std::vector<size_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<size_t> all(300);
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  CHECK(sorted == all);
  std::sort(e1.begin(), e1.end());
  CHECK(e1 == all);

  e1 = epoch_order(a, 1);
  CHECK(e0 != all);                   // actually shuffled
  CHECK(e0 != e1);                    // a new order each epoch
  CHECK(epoch_order(b, 0) == e0);     // same seed, same epoch: same order
  CHECK(epoch_order(b, 1) == e1);
  CHECK(epoch_order(a, 0) == e0);     // depends on the epoch number only, not on history
  CHECK(epoch_order(c, 0) != e0);     // another seed, another order
  CHECK(std::vector<size_t>(a.order().begin(), a.order().end()) == e0);
}

TEST_CASE("DataLoader: normalization is (x/255 - mean[c]) / std[c] exactly", "[data]") {
  std::vector<uint8_t> px = {0, 51, 255, 17, 100, 200, 3, 250, 128, 64, 32, 16};  // 3 channels of 2x2
  Dataset ds({3, 2, 2}, px, {0}, {"x"});
  const std::vector<float> mean = {0.5f, 0.25f, 0.f}, stdev = {0.5f, 0.25f, 2.f};
  DataLoader loader(ds, {.batch_size = 1, .mean = mean, .std = stdev});
  std::vector<float> got = loader.batch(0).images.to_vector<float>();
  REQUIRE(got.size() == 12);
  for (size_t k = 0; k < 12; ++k) {
    const size_t c = k / 4;
    const double want = (px[k] / 255.0 - mean[c]) / stdev[c];
    CHECK(got[k] == Approx(want).margin(1e-6));
  }
  // Defaults: mean 0, std 1.
  std::vector<float> plain = DataLoader(ds, {.batch_size = 1}).batch(0).images.to_vector<float>();
  for (size_t k = 0; k < 12; ++k) CHECK(plain[k] == Approx(px[k] / 255.0).margin(1e-7));
}

TEST_CASE("transforms: crop offset and flip move pixels as specified", "[data]") {
  Dataset ds = known_image();
  const ImageShape s = ds.shape();
  std::vector<int> img(12);
  for (size_t k = 0; k < 12; ++k) img[k] = ds.get(0).pixels[k];
  const std::vector<float> mean = {0.f}, inv_std = {1.f};

  // A hand-worked case: pad 1, window at (dy, dx) = (0, 2), mirrored.
  //   padded row 0 is all zeros; rows 1..3 are [0, 10 20 30 40, 0], [0, 50 .. 80, 0], [0, 90 .. 120, 0]
  //   window columns 2..5 of rows 0..2: [0 0 0 0], [20 30 40 0], [60 70 80 0]; mirrored:
  const std::vector<int> hand = {0, 0, 0, 0, 0, 40, 30, 20, 0, 80, 70, 60};
  CHECK(placed(img, 3, 4, 1, 0, 2, true) == hand);

  for (int pad : {0, 1, 2})
    for (int dy = 0; dy <= 2 * pad; ++dy)
      for (int dx = 0; dx <= 2 * pad; ++dx)
        for (bool flip : {false, true}) {
          std::vector<float> out(12);
          normalize_image(ds.get(0).pixels, s, pad, {.dy = dy, .dx = dx, .flip = flip}, mean, inv_std, out.data());
          std::vector<int> got;
          for (float v : out) got.push_back(static_cast<int>(std::lround(v * 255.f)));
          CHECK(got == placed(img, 3, 4, pad, dy, dx, flip));
        }
}

TEST_CASE("DataLoader: random flip mirrors some images and leaves the rest", "[data]") {
  std::vector<uint8_t> px;
  for (int i = 0; i < 64; ++i)
    for (uint8_t v : {10, 20, 30, 40, 50, 60}) px.push_back(v);  // 64 copies of a 1x2x3 image
  Dataset ds({1, 2, 3}, px, std::vector<int32_t>(64, 0), {"x"});
  DataLoader loader(ds, {.batch_size = 64, .seed = 3, .random_flip = true});
  Batch b = loader.batch(0);
  const std::vector<int> same = {10, 20, 30, 40, 50, 60}, mirrored = {30, 20, 10, 60, 50, 40};
  int flipped = 0;
  for (int64_t i = 0; i < 64; ++i) {
    std::vector<int> got = bytes_of(b.images, i, 6);
    CHECK((got == same || got == mirrored));
    flipped += got == mirrored;
  }
  CHECK(flipped > 0);
  CHECK(flipped < 64);
  // Augmentation is a function of (seed, epoch, batch): asking again gives the same tensor.
  CHECK(loader.batch(0).images.to_vector<float>() == b.images.to_vector<float>());
  loader.set_epoch(1);
  CHECK(loader.batch(0).images.to_vector<float>() != b.images.to_vector<float>());
}

TEST_CASE("DataLoader: random crop takes a padded window at an offset in [0, 2*pad]", "[data]") {
  Dataset one = known_image();
  std::vector<uint8_t> px;
  for (int i = 0; i < 100; ++i) px.insert(px.end(), one.get(0).pixels, one.get(0).pixels + 12);
  Dataset ds({1, 3, 4}, px, std::vector<int32_t>(100, 0), {"x"});
  std::vector<int> img(px.begin(), px.begin() + 12);

  const int pad = 1;
  DataLoader loader(ds, {.batch_size = 100, .seed = 11, .crop_padding = pad});
  Batch b = loader.batch(0);
  std::set<std::pair<int, int>> offsets_seen;
  for (int64_t i = 0; i < 100; ++i) {
    std::vector<int> got = bytes_of(b.images, i, 12);
    bool matched = false;
    for (int dy = 0; dy <= 2 * pad && !matched; ++dy)
      for (int dx = 0; dx <= 2 * pad && !matched; ++dx)
        if (got == placed(img, 3, 4, pad, dy, dx, false)) {
          matched = true;
          offsets_seen.insert({dy, dx});
        }
    CHECK(matched);
  }
  CHECK(offsets_seen.size() >= 5);  // 9 possible offsets, 100 draws
}

TEST_CASE("DataLoader: bad options are rejected", "[data]") {
  Dataset ds = indexed(4);
  CHECK_THROWS_WITH(DataLoader(ds, {.batch_size = 0}), Catch::Contains("batch_size must be > 0, got 0"));
  CHECK_THROWS_WITH(DataLoader(ds, {.mean = {0.1f, 0.2f}}),
                    Catch::Contains("mean has 2 values but the images have 1 channels"));
  CHECK_THROWS_WITH(DataLoader(ds, {.std = {0.f}}), Catch::Contains("std values must be > 0, got 0"));
  CHECK_THROWS_WITH(DataLoader(ds, {.crop_padding = -1}), Catch::Contains("crop_padding must be >= 0, got -1"));
}
