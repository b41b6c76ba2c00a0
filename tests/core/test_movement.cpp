// concat and stack: values against a naive element-by-element join (float, a transposed piece,
// and the integer dtypes), gradients, and every input check.
#include <catch2/catch.hpp>

#include "support/grad_check.h"
#include "support/reference.h"

using namespace qgrad;
using testing::full_jacobian_check;
using testing::grad_check;
using testing::param;

namespace {

// Row-major multi-index of flat index i in shape.
std::vector<int64_t> unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}

int64_t ravel(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + idx[d];
  return flat;
}

// The naive concat: for every output element, find the piece its index along axis falls in.
template <class T>
std::vector<T> ref_concat(const std::vector<Tensor>& pieces, int64_t axis) {
  Shape out_shape = pieces[0].shape();
  out_shape[axis] = 0;
  for (const Tensor& p : pieces) out_shape[axis] += p.shape()[axis];
  std::vector<T> out(numel(out_shape));
  for (int64_t i = 0; i < numel(out_shape); ++i) {
    std::vector<int64_t> idx = unravel(i, out_shape);
    for (const Tensor& p : pieces) {
      if (idx[axis] < p.shape()[axis]) {
        out[i] = p.to_vector<T>()[ravel(idx, p.shape())];
        break;
      }
      idx[axis] -= p.shape()[axis];
    }
  }
  return out;
}

// stack(pieces, axis)[..., k, ...] = pieces[k][...]
template <class T>
std::vector<T> ref_stack(const std::vector<Tensor>& pieces, int64_t axis) {
  Shape out_shape = pieces[0].shape();
  out_shape.insert(out_shape.begin() + axis, static_cast<int64_t>(pieces.size()));
  std::vector<T> out(numel(out_shape));
  for (int64_t i = 0; i < numel(out_shape); ++i) {
    std::vector<int64_t> idx = unravel(i, out_shape);
    int64_t k = idx[axis];
    idx.erase(idx.begin() + axis);
    out[i] = pieces[k].to_vector<T>()[ravel(idx, pieces[k].shape())];
  }
  return out;
}

// Small non-zero integers of dtype T in the given shape.
template <class T>
Tensor int_tensor(const Shape& shape, int start) {
  std::vector<T> v(numel(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>((start + 7 * static_cast<int>(i)) % 100 + 1);
  return from_vector(v, shape);
}

}  // namespace

TEST_CASE("concat: joins float tensors along any axis", "[core]") {
  Generator gen(61);
  std::vector<Tensor> rows = {randn({2, 3}, gen), randn({4, 3}, gen), randn({3, 1}, gen).t().reshape({1, 3})};
  Tensor c0 = concat(rows, 0);
  CHECK(c0.shape() == Shape{7, 3});
  CHECK(c0.to_vector() == ref_concat<float>(rows, 0));

  std::vector<Tensor> cols = {randn({2, 1}, gen), randn({4, 2}, gen).t(), randn({2, 3}, gen)};
  REQUIRE_FALSE(cols[1].is_contiguous());
  CHECK(concat(cols, 1).shape() == Shape{2, 8});
  CHECK(concat(cols, 1).to_vector() == ref_concat<float>(cols, 1));
  CHECK(concat(cols, -1).to_vector() == ref_concat<float>(cols, 1));

  std::vector<Tensor> cube = {randn({2, 3, 4}, gen), randn({2, 1, 4}, gen), randn({2, 0, 4}, gen)};
  CHECK(concat(cube, -2).shape() == Shape{2, 4, 4});
  CHECK(concat(cube, -2).to_vector() == ref_concat<float>(cube, 1));
  CHECK(concat({cube[0]}, 2).to_vector() == cube[0].to_vector());
}

TEST_CASE("stack: joins float tensors along a new axis", "[core]") {
  Generator gen(62);
  std::vector<Tensor> pieces = {randn({2, 3}, gen), randn({3, 2}, gen).t(), randn({2, 3}, gen)};
  for (int64_t axis : {0, 1, 2}) {
    INFO("axis " << axis);
    Tensor s = stack(pieces, axis);
    Shape want = {2, 3};
    want.insert(want.begin() + axis, 3);
    CHECK(s.shape() == want);
    CHECK(s.to_vector() == ref_stack<float>(pieces, axis));
  }
  CHECK(stack(pieces, -1).to_vector() == ref_stack<float>(pieces, 2));
  CHECK(stack(pieces, -3).to_vector() == ref_stack<float>(pieces, 0));
  CHECK(stack({scalar_tensor(2.f), scalar_tensor(-3.f)}).to_vector() == std::vector<float>{2, -3});
}

TEMPLATE_TEST_CASE("concat and stack: integer dtypes", "[core]", int8_t, uint8_t, int32_t) {
  std::vector<Tensor> pieces = {int_tensor<TestType>({2, 3}, 1), int_tensor<TestType>({3, 2}, 5).t(),
                                int_tensor<TestType>({2, 3}, 9)};
  Tensor c = concat(pieces, 1);
  CHECK(c.dtype() == pieces[0].dtype());
  CHECK(c.to_vector<TestType>() == ref_concat<TestType>(pieces, 1));
  CHECK(concat(pieces, 0).to_vector<TestType>() == ref_concat<TestType>(pieces, 0));
  Tensor s = stack(pieces, 1);
  CHECK(s.shape() == Shape{2, 3, 3});
  CHECK(s.dtype() == pieces[0].dtype());
  CHECK(s.to_vector<TestType>() == ref_stack<TestType>(pieces, 1));
  CHECK_FALSE(s.requires_grad());
}

TEST_CASE("concat and stack: gradients slice back into the pieces", "[grad]") {
  auto cat0 = [](const std::vector<Tensor>& in) { return concat({in[0], in[1].t(), in[2]}, 0); };
  grad_check(cat0, {param({2, 3}, 71), param({3, 4}, 72), param({1, 3}, 73)});
  auto cat_last = [](const std::vector<Tensor>& in) { return concat({in[0], in[1]}, -1); };
  grad_check(cat_last, {param({2, 3, 2}, 74), param({2, 3, 4}, 75)});
  full_jacobian_check(cat_last, {param({1, 2, 1}, 76), param({1, 2, 2}, 77)});

  // One piece used twice receives both slices' gradients.
  grad_check([](const std::vector<Tensor>& in) { return concat({in[0], in[1], in[0]}, 1); },
             {param({2, 2}, 78), param({2, 1}, 79)});
  // A piece that does not require grad gets none and does not disturb the others.
  Tensor fixed = randn({2, 2});
  grad_check([fixed](const std::vector<Tensor>& in) { return concat({fixed, in[0]}, 0); }, {param({1, 2}, 80)});

  for (int64_t axis : {0, 1, -1}) {
    INFO("axis " << axis);
    auto st = [axis](const std::vector<Tensor>& in) { return stack({in[0], in[1].t(), in[0]}, axis); };
    grad_check(st, {param({2, 3}, 81), param({3, 2}, 82)});
    full_jacobian_check(st, {param({1, 2}, 83), param({2, 1}, 84)});
  }
}

TEST_CASE("concat and stack: errors name the op, the tensor and the shapes", "[core]") {
  Tensor a = randn({2, 3}), b = randn({2, 4}), c = randn({2, 3, 1});
  CHECK_THROWS_WITH(concat({}, 0), Catch::Contains("qgrad::concat") && Catch::Contains("empty list"));
  CHECK_THROWS_WITH(stack({}, 0), Catch::Contains("qgrad::stack") && Catch::Contains("empty list"));
  CHECK_THROWS_WITH(concat({a, b}, 0), Catch::Contains("qgrad::concat") &&
                                           Catch::Contains("tensor 1 has shape [2, 4] but tensor 0 has shape [2, 3]") &&
                                           Catch::Contains("except along axis 0"));
  CHECK_THROWS_WITH(concat({a, a, c}, 1), Catch::Contains("tensor 2 has shape [2, 3, 1] (3 dims) but tensor 0 has "
                                                          "shape [2, 3] (2 dims)"));
  CHECK_THROWS_WITH(concat({a, b}, 2), Catch::Contains("qgrad::concat") && Catch::Contains("axis 2 is out of range"));
  CHECK_THROWS_WITH(concat({a, b}, -3), Catch::Contains("axis -3 is out of range"));
  CHECK_THROWS_WITH(concat({scalar_tensor(1.f), scalar_tensor(2.f)}, 0),
                    Catch::Contains("qgrad::concat") && Catch::Contains("zero-dimensional"));
  Tensor i8 = from_vector<int8_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK_THROWS_WITH(concat({a, a, i8}, 0), Catch::Contains("qgrad::concat") &&
                                               Catch::Contains("tensor 2 has dtype int8 but tensor 0 has float32"));
  CHECK_THROWS_WITH(stack({i8, a}, 0), Catch::Contains("qgrad::stack") &&
                                           Catch::Contains("tensor 1 has dtype float32 but tensor 0 has int8"));
  CHECK_THROWS_WITH(stack({a, b}, 0), Catch::Contains("qgrad::stack") &&
                                          Catch::Contains("tensor 1 has shape [2, 4] but tensor 0 has shape [2, 3]"));
  CHECK_THROWS_WITH(stack({a, a}, 3), Catch::Contains("qgrad::stack") && Catch::Contains("axis 3 is out of range"));
  CHECK_THROWS_WITH(concat({a, Tensor()}, 0), Catch::Contains("tensor 1 is undefined"));
}
