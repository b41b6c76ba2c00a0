// examples/common/task.h evaluate(): accuracy and confusion matrix of a model on a loader, and
// the refusal of a model whose outputs do not match the data set's classes (it used to write
// past the confusion matrix).
#include <catch2/catch.hpp>

#include "examples/common/task.h"
#include "qgrad.h"

using namespace qgrad;

namespace {

// 12 tiny 1x2x2 images in 3 classes; class c has its pixels at 60 + 60 c.
data::Dataset three_classes() {
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  for (int i = 0; i < 12; ++i) {
    labels.push_back(i % 3);
    for (int p = 0; p < 4; ++p) pixels.push_back(static_cast<uint8_t>(60 + 60 * (i % 3) + p));
  }
  return data::Dataset({1, 2, 2}, pixels, labels, {"a", "b", "c"});
}

}  // namespace

TEST_CASE("evaluate: counts a model's predictions in the confusion matrix", "[examples]") {
  data::Dataset set = three_classes();
  data::DataLoader loader(set, {.batch_size = 5});
  // A linear "model" whose third logit is always the largest (pixels are positive): every image
  // is predicted as class 2.
  auto model = std::make_shared<nn::Sequential>(nn::Flatten(), nn::Linear({.in = 4, .out = 3}));
  for (const auto& [name, t] : model->named_parameters()) t.detach().fill_(0.f);
  Tensor w = model->named_parameters()[0].second.detach();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t p = 0; p < 4; ++p) w.at({c, p}) = (c == 1 ? 1.f : (c == 0 ? -1.f : 3.f));
  examples::Evaluation ev = examples::evaluate(*model, loader, 3);
  CHECK(ev.images == 12);
  int64_t total = 0;
  for (const auto& row : ev.confusion) {
    REQUIRE(row.size() == 3);
    for (int64_t n : row) total += n;
  }
  CHECK(total == 12);
  CHECK(ev.confusion.size() == 3);
  for (int c = 0; c < 3; ++c) CHECK(ev.confusion[c][2] == 4);  // [truth][prediction]
  CHECK(ev.accuracy == Approx(1.0 / 3));
}

TEST_CASE("evaluate: a model with more or fewer outputs than classes is an error", "[examples]") {
  data::Dataset set = three_classes();
  data::DataLoader loader(set, {.batch_size = 5});
  for (int64_t outputs : {2, 10}) {
    auto model = std::make_shared<nn::Sequential>(nn::Flatten(), nn::Linear({.in = 4, .out = outputs}));
    CHECK_THROWS_WITH(examples::evaluate(*model, loader, 3),
                      Catch::Contains("the data set has 3 classes: the model was not made for this data set"));
  }
}

TEST_CASE("evaluate: an empty test set is an error, not 0% accuracy", "[examples]") {
  data::Dataset empty({1, 2, 2}, {}, {}, {"a", "b", "c"});
  data::DataLoader loader(empty, {.batch_size = 5});
  auto model = std::make_shared<nn::Sequential>(nn::Flatten(), nn::Linear({.in = 4, .out = 3}));
  CHECK_THROWS_WITH(examples::evaluate(*model, loader, 3), Catch::Contains("the test set is empty"));
}
