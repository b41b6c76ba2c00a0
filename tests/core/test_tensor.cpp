// Tensor basics: factories, dtypes, element access, printing, conversion, errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "qgrad.h"

using namespace qgrad;
using Catch::Contains;

TEST_CASE("factories fill shape, dtype and values", "[core]") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == DType::Float32);
  CHECK(z.numel() == 6);
  CHECK(z.is_contiguous());
  CHECK(z.strides() == Shape{3, 1});
  for (float v : z.to_vector()) CHECK(v == 0.f);

  Tensor f = full({4}, 2.5f);
  for (float v : f.to_vector()) CHECK(v == 2.5f);

  Tensor o = ones({2, 2}, DType::Int8);
  CHECK(o.dtype() == DType::Int8);
  CHECK(o.to_vector<int8_t>() == std::vector<int8_t>{1, 1, 1, 1});

  CHECK(arange(0, 5).to_vector() == std::vector<float>{0, 1, 2, 3, 4});
  CHECK(arange(1, 2, 0.25f).to_vector() == std::vector<float>{1, 1.25f, 1.5f, 1.75f});
  CHECK(arange(3, 0, -1).to_vector() == std::vector<float>{3, 2, 1});

  Tensor s = scalar_tensor(7.f);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.item() == 7.f);
}

TEST_CASE("all four dtypes store and read back their values", "[core]") {
  CHECK(from_vector<int32_t>({-5, 0, 1 << 30}, {3}).to_vector<int32_t>() ==
        std::vector<int32_t>{-5, 0, 1 << 30});
  CHECK(from_vector<int8_t>({-128, 0, 127}, {3}).to_vector<int8_t>() ==
        std::vector<int8_t>{-128, 0, 127});
  CHECK(from_vector<uint8_t>({0, 128, 255}, {3}).to_vector<uint8_t>() ==
        std::vector<uint8_t>{0, 128, 255});
  CHECK(dtype_size(DType::Int32) == 4);
  CHECK(dtype_size(DType::UInt8) == 1);
}

TEST_CASE("to() converts with round-half-away-from-zero and saturation", "[core]") {
  Tensor x = from_vector({-300.f, -128.6f, -2.5f, -0.5f, 0.49f, 0.5f, 1.5f, 126.5f, 1000.f}, {9});
  CHECK(x.to(DType::Int8).to_vector<int8_t>() ==
        std::vector<int8_t>{-128, -128, -3, -1, 0, 1, 2, 127, 127});
  CHECK(x.to(DType::UInt8).to_vector<uint8_t>() ==
        std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 2, 127, 255});
  Tensor big = from_vector({3e9f, -3e9f, 12.5f}, {3});
  CHECK(big.to(DType::Int32).to_vector<int32_t>() ==
        std::vector<int32_t>{2147483647, -2147483647 - 1, 13});
  Tensor q = from_vector<int8_t>({-7, 9}, {2});
  CHECK(q.to(DType::Float32).to_vector() == std::vector<float>{-7.f, 9.f});
  // A strided view converts its own elements, not the storage prefix.
  Tensor m = from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  CHECK(m.slice(1, 1, 3).to(DType::Int32).to_vector<int32_t>() == std::vector<int32_t>{2, 3, 5, 6});
}

TEST_CASE("at() reads and writes through strides with bounds checks", "[core]") {
  Tensor m = from_vector({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  CHECK(m.at({1, 2}) == 6.f);
  m.at({0, 1}) = 20.f;
  CHECK(m.to_vector()[1] == 20.f);
  Tensor t = m.t();
  CHECK(t.at({1, 0}) == 20.f);
  CHECK(t.at({2, 1}) == 6.f);
  CHECK_THROWS_WITH(m.at({2, 0}), Contains("index 2 is out of range for axis 0 of size 2"));
  CHECK_THROWS_WITH(m.at({0}), Contains("got 1 indices for a tensor of shape [2, 3]"));
  CHECK_THROWS_WITH(m.at<int8_t>({0, 0}), Contains("tensor has dtype float32 but int8 was requested"));
}

TEST_CASE("item() and data() reject misuse with clear messages", "[core]") {
  CHECK_THROWS_WITH(zeros({2}).item(), Contains("item: needs a tensor with one element, got shape [2]"));
  CHECK_THROWS_WITH(zeros({1}, DType::Int32).item(), Contains("needs float32, got int32"));
  CHECK_THROWS_WITH(zeros({1}).data<int32_t>(), Contains("float32 but int32 was requested"));
  CHECK_THROWS_WITH(Tensor().shape(), Contains("undefined"));
  CHECK_THROWS_WITH(from_vector({1.f, 2.f}, {3}), Contains("2 values do not fill shape [3]"));
  CHECK_THROWS_WITH(zeros({2, -1}), Contains("negative size in shape [2, -1]"));
}

TEST_CASE("random factories are seedable and have the right moments", "[core]") {
  Generator g1(42), g2(42), g3(43);
  Tensor a = randn({1000}, g1), b = randn({1000}, g2), c = randn({1000}, g3);
  CHECK(a.to_vector() == b.to_vector());
  CHECK(a.to_vector() != c.to_vector());
  Generator g(7);
  Tensor n = randn({20000}, g);
  double mean = 0, sq = 0;
  for (float v : n.to_vector()) { mean += v; sq += double(v) * v; }
  mean /= n.numel();
  double var = sq / n.numel() - mean * mean;
  CHECK(std::abs(mean) < 0.03);
  CHECK(std::abs(var - 1.0) < 0.05);
  Tensor u = rand({20000}, g);
  double umean = 0;
  for (float v : u.to_vector()) {
    REQUIRE(v >= 0.f);
    REQUIRE(v < 1.f);
    umean += v;
  }
  CHECK(std::abs(umean / u.numel() - 0.5) < 0.01);
  manual_seed(5);
  Tensor d1 = rand({4});
  manual_seed(5);
  CHECK(rand({4}).to_vector() == d1.to_vector());
}

TEST_CASE("printing shows shape, dtype and values", "[core]") {
  Tensor m = from_vector({1.f, 2.5f, -3.f, 4.f}, {2, 2});
  std::string s = m.to_string();
  CHECK_THAT(s, Contains("shape=[2, 2]"));
  CHECK_THAT(s, Contains("dtype=float32"));
  CHECK_THAT(s, Contains("[[1, 2.5],\n [-3, 4]]"));
  CHECK_THAT(from_vector<int8_t>({-3, 4}, {2}).to_string(), Contains("dtype=int8)\n[-3, 4]"));
  CHECK_THAT(zeros({2000}).to_string(), Contains("0, 0, 0, ..., 0, 0, 0]"));
  CHECK_THAT(ones({1}).requires_grad_().to_string(), Contains("requires_grad"));
}

TEST_CASE("copy_ and fill_ write through views", "[core]") {
  Tensor m = zeros({3, 4});
  m.slice(1, 1, 3).fill_(5.f);
  CHECK(m.to_vector() == std::vector<float>{0, 5, 5, 0, 0, 5, 5, 0, 0, 5, 5, 0});
  Tensor row = from_vector({1.f, 2.f, 3.f}, {3});
  m.t().slice(0, 0, 3).copy_(row.unsqueeze(1));  // broadcast the column into the transposed view
  CHECK(m.to_vector() == std::vector<float>{1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0});
  CHECK_THROWS_WITH(m.copy_(zeros({3, 4}, DType::Int8)), Contains("dtype mismatch"));
  CHECK_THROWS_WITH(m.copy_(zeros({5})), Contains("cannot expand shape [5] to [3, 4]"));
  m.slice(0, 1, 2).squeeze(0).slice(0, 2, 3).squeeze(0).fill_(9.f);  // a 0-d view of one element
  CHECK(m.at({1, 2}) == 9.f);
}

TEST_CASE("set_num_threads sets the thread count and rejects bad values", "[core]") {
  int before = get_num_threads();
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
  set_num_threads(before);
  CHECK(get_num_threads() == before);
  CHECK_THROWS_WITH(set_num_threads(0), Contains("thread count must be >= 1, got 0"));
}

TEST_CASE("from_blob views external memory and keeps its owner alive", "[core]") {
  auto buffer = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4, 5, 6});
  std::weak_ptr<std::vector<float>> watch = buffer;
  Tensor t = from_blob(buffer->data(), {2, 3}, {3, 1}, DType::Float32, buffer);
  Tensor col = from_blob(buffer->data() + 1, {2}, {3}, DType::Float32, buffer);  // a strided view
  buffer.reset();
  CHECK_FALSE(watch.expired());  // the tensors hold the owner
  CHECK(t.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(col.to_vector() == std::vector<float>{2, 5});
  t.at({1, 1}) = 50.f;  // writes land in the external memory, seen by every view
  CHECK(col.to_vector() == std::vector<float>{2, 50});
  CHECK((t * 2.f).to_vector() == std::vector<float>{2, 4, 6, 8, 100, 12});
  CHECK_THROWS_WITH(from_blob(nullptr, {2}, {-1}, DType::Float32, nullptr), Contains("strides must be >= 0"));
  CHECK_THROWS_WITH(from_blob(nullptr, {2}, {1, 1}, DType::Float32, nullptr), Contains("differ in rank"));
  t = Tensor();
  col = Tensor();
  CHECK(watch.expired());  // ... and let it go with the last one
}
