// The example programs' model zoo (examples/common/models.h): the models build, run forward and
// backward on random images, and have the shape their description promises.
#include <catch2/catch.hpp>

#include <cmath>

#include "examples/common/models.h"
#include "qgrad.h"

using namespace qgrad;

TEST_CASE("model zoo: mobilenet runs forward and backward, depthwise convs have groups == in", "[examples]") {
  auto model = examples::make_model("mobilenet", 0);
  CHECK(examples::dataset_of("mobilenet") == "cifar10");

  Generator gen(1);
  Tensor logits = (*model)(randn({2, 3, 32, 32}, gen));
  REQUIRE(logits.shape() == Shape{2, 10});
  cross_entropy(logits, from_vector<int32_t>({3, 7}, {2})).backward();
  for (const auto& [name, p] : model->named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    double norm2 = 0;
    for (float g : p.grad().to_vector()) norm2 += double(g) * g;
    CHECK(std::isfinite(norm2));  // a NaN or inf anywhere in the gradient makes the sum non-finite
    CHECK(norm2 > 0);
  }

  // Stem 3 -> 16, then per block a depthwise 3x3 (groups == in == out) and a pointwise 1x1.
  int depthwise = 0, pointwise = 0;
  for (const auto& [name, m] : model->children()) {
    auto* conv = dynamic_cast<nn::Conv2d*>(m.get());
    if (!conv) continue;
    const nn::Conv2dOptions& o = conv->options();
    INFO(name << ": " << conv->options_str());
    CHECK_FALSE(o.bias);
    if (o.kernel == 1) {
      ++pointwise;
      CHECK(o.groups == 1);
    } else if (o.in != 3) {
      ++depthwise;
      CHECK(o.groups == o.in);
      CHECK(o.out == o.in);
    }
  }
  CHECK(depthwise == 5);
  CHECK(pointwise == 5);
}

TEST_CASE("model zoo: unknown architectures name the known ones", "[examples]") {
  CHECK_THROWS_WITH(examples::make_model("resnet", 0), Catch::Contains("mobilenet"));
  CHECK_THROWS_WITH(examples::dataset_of("resnet"), Catch::Contains("mobilenet"));
}
