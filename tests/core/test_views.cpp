// Views share storage, have the right geometry, and carry gradients back to their source.
#include <catch2/catch.hpp>

#include "support/grad_check.h"

using namespace qgrad;
using Catch::Contains;
using testing::full_jacobian_check;
using testing::grad_check;
using testing::param;

namespace {
Tensor iota(const Shape& s) { return arange(0, static_cast<float>(numel(s))).reshape(s); }
}  // namespace

TEST_CASE("views share storage with their source", "[core]") {
  Tensor x = iota({2, 3, 4});
  for (Tensor v : {x.reshape({6, 4}), x.transpose(0, 2), x.permute({1, 2, 0}), x.slice(2, 1, 3),
                   x.unsqueeze(0), x.slice(0, 0, 1).squeeze(0), x.view({-1}), x.flatten(1)}) {
    CHECK(v.storage() == x.storage());
  }
  x.transpose(0, 2).at({3, 1, 0}) = -1.f;  // element [0, 1, 3] of x
  CHECK(x.at({0, 1, 3}) == -1.f);
}

TEST_CASE("view geometry: transpose, permute, slice, squeeze, unsqueeze, expand", "[core]") {
  Tensor x = iota({2, 3, 4});
  Tensor t = x.transpose(0, 2);
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK(t.strides() == Shape{1, 4, 12});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.at({3, 2, 1}) == x.at({1, 2, 3}));

  Tensor p = x.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.at({1, 1, 2}) == x.at({1, 2, 1}));

  Tensor s = x.slice(2, 1, 4, 2);  // columns 1 and 3
  CHECK(s.shape() == Shape{2, 3, 2});
  CHECK(s.to_vector() == std::vector<float>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
  CHECK(x.slice(1, -2, 100).shape() == Shape{2, 2, 4});  // Python-style bounds
  CHECK(x.slice(1, 2, 1).shape() == Shape{2, 0, 4});

  CHECK(x.unsqueeze(1).shape() == Shape{2, 1, 3, 4});
  CHECK(x.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(x.unsqueeze(1).squeeze(1).to_vector() == x.to_vector());

  Tensor col = from_vector({1.f, 2.f}, {2, 1});
  Tensor e = col.expand({3, 2, 4});
  CHECK(e.strides() == Shape{0, 1, 0});
  CHECK(e.at({2, 1, 3}) == 2.f);

  Tensor c = t.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.storage() != x.storage());
  CHECK(c.to_vector() == t.to_vector());
  CHECK(x.contiguous().storage() == x.storage());  // already contiguous: no copy
  CHECK(t.reshape({24}).to_vector() == t.to_vector());  // reshape of a non-contiguous view copies
  CHECK(x.clone().storage() != x.storage());
}

TEST_CASE("view errors name the op and the shapes", "[core]") {
  Tensor x = iota({2, 3});
  CHECK_THROWS_WITH(x.view({4, 2}), Contains("cannot reshape [2, 3] (6 elements) into [4, 2]"));
  CHECK_THROWS_WITH(x.reshape({-1, -1}), Contains("only one size may be -1"));
  CHECK_THROWS_WITH(x.reshape({4, -1}), Contains("cannot reshape [2, 3]"));
  CHECK_THROWS_WITH(x.t().view({6}), Contains("view: tensor of shape [3, 2] is not contiguous"));
  CHECK_THROWS_WITH(x.transpose(0, 2), Contains("axis 2 is out of range for a tensor with 2 dimension(s)"));
  CHECK_THROWS_WITH(x.permute({0, 0}), Contains("axis 0 is repeated"));
  CHECK_THROWS_WITH(x.permute({0}), Contains("got 1 axes for a tensor of shape [2, 3]"));
  CHECK_THROWS_WITH(x.squeeze(1), Contains("axis 1 has size 3, not 1"));
  CHECK_THROWS_WITH(x.slice(0, 0, 1, 0), Contains("step must be >= 1"));
  CHECK_THROWS_WITH(x.expand({4, 3}), Contains("cannot expand shape [2, 3] to [4, 3]"));
  CHECK_THROWS_WITH(x.expand({3}), Contains("to fewer dimensions"));
  CHECK_THROWS_WITH(iota({2, 3, 4}).t(), Contains("t: expects a 2-D tensor, got shape [2, 3, 4]"));
  CHECK_THROWS_WITH(x.size(5), Contains("size: axis 5 is out of range"));
}

TEST_CASE("gradients flow back through every view", "[grad]") {
  auto w = [](const Tensor& t) {  // weights make each position's gradient distinct
    return arange(1, static_cast<float>(t.numel()) + 1).reshape(t.shape());
  };
  Tensor x = param({2, 3, 4}, 11);
  grad_check([&](const std::vector<Tensor>& in) { return in[0].transpose(0, 2) * w(in[0].transpose(0, 2)); }, {x});
  grad_check([&](const std::vector<Tensor>& in) { return in[0].permute({1, 2, 0}).reshape({12, 2}); }, {x});
  grad_check([&](const std::vector<Tensor>& in) { return in[0].slice(2, 1, 4, 2) * 3.f; }, {x});
  grad_check([&](const std::vector<Tensor>& in) { return in[0].slice(1, 0, 1).squeeze(1).unsqueeze(0); }, {x});
  grad_check([&](const std::vector<Tensor>& in) { return in[0].flatten(0, 1).t(); }, {x});
  Tensor col = param({3, 1}, 12);
  full_jacobian_check([&](const std::vector<Tensor>& in) {
    Tensor e = in[0].expand({2, 3, 4});
    return e * w(e);
  }, {col});
  full_jacobian_check([](const std::vector<Tensor>& in) { return in[0].t().contiguous().clone(); }, {param({2, 3}, 13)});
}
