// matmul and linear: forward against naive double-accumulated loops, gradients against
// central differences, the strided-operand paths (transpose flags, irregular strides,
// broadcast batches) and every error message.
#include <catch2/catch.hpp>

#include "core/ops/blas_layout.h"
#include "support/grad_check.h"
#include "support/reference.h"

using namespace qgrad;
using testing::RefValue;

namespace {

Tensor random(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, gen);
}

// a [..., M, K] @ b [..., K, N] for a, b at least 2-D, batch axes broadcast NumPy-style.
std::vector<RefValue> naive_matmul(const Tensor& a, const Tensor& b, Shape& out_shape) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const size_t nd = std::max(a.dim(), b.dim());
  out_shape.assign(nd, 1);
  for (size_t i = 0; i < nd - 2; ++i) {
    int64_t ia = static_cast<int64_t>(i) - static_cast<int64_t>(nd - a.dim());
    int64_t ib = static_cast<int64_t>(i) - static_cast<int64_t>(nd - b.dim());
    out_shape[i] = std::max(ia >= 0 ? a.shape()[ia] : 1, ib >= 0 ? b.shape()[ib] : 1);
  }
  out_shape[nd - 2] = m;
  out_shape[nd - 1] = n;
  std::vector<RefValue> out(numel(out_shape));
  for (int64_t f = 0; f < numel(out_shape); ++f) {
    std::vector<int64_t> o = testing::unravel(f, out_shape);
    // Each operand's index: its own trailing batch axes, 0 where it broadcasts.
    auto operand_index = [&](const Tensor& t) {
      std::vector<int64_t> idx(t.dim());
      for (int64_t ax = 0; ax < t.dim() - 2; ++ax) {
        int64_t oa = ax + static_cast<int64_t>(nd) - t.dim();
        idx[ax] = t.shape()[ax] == 1 ? 0 : o[oa];
      }
      return idx;
    };
    std::vector<int64_t> ia = operand_index(a), ib = operand_index(b);
    for (int64_t p = 0; p < k; ++p) {
      ia[a.dim() - 2] = o[nd - 2];
      ia[a.dim() - 1] = p;
      ib[b.dim() - 2] = p;
      ib[b.dim() - 1] = o[nd - 1];
      double t = static_cast<double>(testing::strided_at(a, ia)) * testing::strided_at(b, ib);
      out[f].value += t;
      out[f].magnitude += std::abs(t);
    }
  }
  return out;
}

void check_matmul(const Tensor& a, const Tensor& b) {
  INFO("a " << shape_str(a.shape()) << " strides " << shape_str(a.strides()) << ", b "
            << shape_str(b.shape()) << " strides " << shape_str(b.strides()));
  Shape shape;
  std::vector<RefValue> ref = naive_matmul(a, b, shape);
  Tensor c = matmul(a, b);
  REQUIRE(c.shape() == shape);
  testing::check_close(c, ref);
}

using Fn = testing::Fn;
const testing::GradCheckOptions kLoose{.atol = 5e-3, .rtol = 3e-2};

}  // namespace

TEST_CASE("matmul 2-D matches naive loops on odd sizes", "[core]") {
  uint64_t seed = 1;
  for (int64_t m : {1, 3, 17, 64})
    for (int64_t k : {1, 5, 33, 130})
      for (int64_t n : {1, 7, 65}) {
        Tensor a = random({m, k}, seed++);
        check_matmul(a, random({k, n}, seed++));
      }
}

TEST_CASE("matmul batched with broadcast batch axes matches naive loops", "[core]") {
  check_matmul(random({2, 1, 3, 5}, 1), random({4, 5, 6}, 2));
  check_matmul(random({3, 4, 5}, 3), random({5, 2}, 4));     // shared B: folded into one GEMM
  check_matmul(random({4, 5}, 5), random({3, 5, 2}, 6));     // shared A
  check_matmul(random({3, 1, 4, 5}, 7), random({1, 2, 5, 3}, 8));
  check_matmul(random({2, 3, 4, 5}, 9), random({2, 3, 5, 6}, 10));
}

TEST_CASE("matmul with 1-D operands follows NumPy", "[core]") {
  Tensor a = from_vector<float>({1, 2, 3}, {3});
  Tensor b = from_vector<float>({4, -5, 6}, {3});
  Tensor dot = matmul(a, b);
  CHECK(dot.shape() == Shape{});
  CHECK(dot.item() == Approx(4 - 10 + 18));
  Tensor m = from_vector<float>({1, 0, 2, -1, 3, 1}, {3, 2});  // [K=3, N=2]
  Tensor vm = matmul(a, m);                                     // [2]
  REQUIRE(vm.shape() == Shape{2});
  CHECK(vm.to_vector() == std::vector<float>{1 * 1 + 2 * 2 + 3 * 3, 0 - 2 + 3});
  Tensor mv = matmul(m.t(), b);  // [2, 3] @ [3]
  REQUIRE(mv.shape() == Shape{2});
  CHECK(mv.to_vector() == std::vector<float>{4 - 10 + 18, 0 + 5 + 6});
  CHECK(matmul(a, random({4, 3, 5}, 1)).shape() == Shape{4, 5});
  CHECK(matmul(random({4, 5, 3}, 2), b).shape() == Shape{4, 5});
}

TEST_CASE("matmul reads strided operands correctly", "[core]") {
  Tensor a = random({9, 6}, 1), b = random({6, 8}, 2);
  check_matmul(a.slice(0, 0, 9, 2), b);                        // row stride 12: plain, ld 12
  check_matmul(random({6, 5}, 3).t(), b);                        // transposed A
  check_matmul(a, random({8, 9}, 4).slice(1, 1, 7).t());       // transposed B with ld 9
  check_matmul(random({6, 9}, 5).t(), random({8, 6}, 6).t());  // both transposed
  check_matmul(random({2, 6, 9}, 7).transpose(-1, -2), random({2, 6, 4}, 8));
  check_matmul(random({9, 12}, 9).slice(1, 0, 12, 2), b);      // column step 2: compacted
  check_matmul(random({1, 6}, 10).expand({5, 6}), b);           // stride-0 rows: compacted
  check_matmul(random({3, 1, 6}, 11).permute({1, 0, 2}).squeeze(0).unsqueeze(0).expand({2, 3, 6}), b);
}

TEST_CASE("matmul of a transposed view equals matmul of its contiguous copy", "[core]") {
  Tensor w = random({20, 30}, 1);
  Tensor x = random({7, 30}, 2);
  Tensor via_view = matmul(x, w.t());
  Tensor via_copy = matmul(x, w.t().contiguous());
  std::vector<float> v = via_view.to_vector(), c = via_copy.to_vector();
  for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == Approx(c[i]).margin(1e-5));
  // The view goes to BLAS as a transpose flag over w's own storage: no copy is needed.
  Tensor wt = w.t();
  auto layout = detail::blas_layout(wt.size(0), wt.size(1), wt.strides()[0], wt.strides()[1]);
  REQUIRE(layout.has_value());
  CHECK(layout->trans);
  CHECK(layout->ld == 30);
  CHECK(wt.storage() == w.storage());
}

TEST_CASE("blas_layout classifies strides", "[core]") {
  using detail::blas_layout;
  auto plain = blas_layout(4, 5, 5, 1);
  REQUIRE(plain);
  CHECK(!plain->trans);
  CHECK(plain->ld == 5);
  auto padded = blas_layout(4, 5, 8, 1);  // rows of a wider matrix
  REQUIRE(padded);
  CHECK(padded->ld == 8);
  auto trans = blas_layout(4, 5, 1, 4);
  REQUIRE(trans);
  CHECK(trans->trans);
  CHECK(trans->ld == 4);
  CHECK(blas_layout(1, 5, 0, 1));         // one row: its stride is irrelevant
  CHECK(!blas_layout(4, 5, 10, 2));        // stepped columns
  CHECK(!blas_layout(4, 5, 0, 1));         // broadcast rows
  CHECK(!blas_layout(4, 5, 3, 1));         // overlapping rows
  CHECK(blas_layout(3, 0, 0, 1));          // empty: nothing to read
}

TEST_CASE("matmul with an empty contracted axis gives zeros", "[core]") {
  Tensor c = matmul(empty({3, 0}), empty({0, 4}));
  REQUIRE(c.shape() == Shape{3, 4});
  for (float v : c.to_vector()) CHECK(v == 0.f);
  CHECK(matmul(empty({0, 3}), random({3, 4}, 1)).shape() == Shape{0, 4});
  Tensor batched = matmul(empty({2, 3, 0}), empty({2, 0, 4}));
  REQUIRE(batched.shape() == Shape{2, 3, 4});
  for (float v : batched.to_vector()) CHECK(v == 0.f);
}

TEST_CASE("linear matches x w^T + b by naive loops", "[core]") {
  for (auto [n, in, out] : {std::tuple{1, 1, 1}, {5, 7, 3}, {33, 65, 17}}) {
    Tensor x = random({n, in}, 1), w = random({out, in}, 2), b = random({out}, 3);
    std::vector<RefValue> ref(n * out), ref_nb(n * out);
    for (int i = 0; i < n; ++i)
      for (int o = 0; o < out; ++o) {
        RefValue& r = ref_nb[i * out + o];
        for (int p = 0; p < in; ++p) {
          double t = static_cast<double>(x.at({i, p})) * w.at({o, p});
          r.value += t;
          r.magnitude += std::abs(t);
        }
        ref[i * out + o] = {r.value + b.at({o}), r.magnitude + std::abs(b.at({o}))};
      }
    testing::check_close(linear(x, w, b), ref);
    testing::check_close(linear(x, w), ref_nb);
    testing::check_close(linear(x.t().contiguous().t(), w.t().contiguous().t(), b), ref);  // strided
  }
}

TEST_CASE("linear folds leading axes of x", "[core]") {
  Tensor x = random({2, 3, 4}, 1), w = random({5, 4}, 2), b = random({5}, 3);
  Tensor y = linear(x, w, b);
  REQUIRE(y.shape() == Shape{2, 3, 5});
  Tensor y2 = linear(x.reshape({6, 4}), w, b).reshape({2, 3, 5});
  CHECK(y.to_vector() == y2.to_vector());
  CHECK(linear(random({4}, 4), w).shape() == Shape{5});
}

TEST_CASE("matmul gradients: 2-D, batched broadcast, 1-D", "[grad]") {
  Fn mm = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  testing::grad_check(mm, {testing::param({5, 7}, 1), testing::param({7, 3}, 2)}, kLoose);
  testing::grad_check(mm, {testing::param({2, 1, 3, 4}, 3), testing::param({3, 4, 2}, 4)}, kLoose);
  testing::grad_check(mm, {testing::param({3, 4, 5}, 5), testing::param({5, 2}, 6)}, kLoose);
  testing::grad_check(mm, {testing::param({4, 5}, 7), testing::param({3, 5, 2}, 8)}, kLoose);
  testing::grad_check(mm, {testing::param({5}, 9), testing::param({5}, 10)}, kLoose);
  testing::grad_check(mm, {testing::param({5}, 11), testing::param({2, 5, 3}, 12)}, kLoose);
  testing::grad_check(mm, {testing::param({2, 3, 5}, 13), testing::param({5}, 14)}, kLoose);
}

TEST_CASE("matmul gradients through transposed views and non-contiguous leaves", "[grad]") {
  Fn tt = [](const std::vector<Tensor>& in) { return matmul(in[0].t(), in[1].t()); };
  testing::grad_check(tt, {testing::param({4, 3}, 1), testing::param({5, 4}, 2)}, kLoose);
  Fn bt = [](const std::vector<Tensor>& in) { return matmul(in[0].transpose(-1, -2), in[1]); };
  testing::grad_check(bt, {testing::param({2, 4, 3}, 3), testing::param({4, 2}, 4)}, kLoose);
  // Leaves whose own strides are transposed / stepped.
  Tensor at = random({4, 3}, 5).t().detach().requires_grad_();
  Tensor bs = random({4, 10}, 6).slice(1, 0, 10, 2).detach().requires_grad_();
  testing::grad_check([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {at, bs}, kLoose);
}

TEST_CASE("matmul full Jacobian on small shapes", "[grad]") {
  Fn mm = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  testing::full_jacobian_check(mm, {testing::param({2, 3}, 1), testing::param({3, 2}, 2)}, kLoose);
  testing::full_jacobian_check(mm, {testing::param({2, 1, 2, 3}, 3), testing::param({2, 3, 2}, 4)}, kLoose);
  testing::full_jacobian_check(mm, {testing::param({3}, 5), testing::param({3, 2}, 6)}, kLoose);
  Fn tr = [](const std::vector<Tensor>& in) { return matmul(in[0].t(), in[1]); };
  testing::full_jacobian_check(tr, {testing::param({3, 2}, 7), testing::param({3, 2}, 8)}, kLoose);
}

TEST_CASE("linear gradients with and without bias", "[grad]") {
  Fn with_bias = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); };
  Fn no_bias = [](const std::vector<Tensor>& in) { return linear(in[0], in[1]); };
  testing::grad_check(with_bias, {testing::param({6, 5}, 1), testing::param({4, 5}, 2), testing::param({4}, 3)}, kLoose);
  testing::grad_check(no_bias, {testing::param({6, 5}, 4), testing::param({4, 5}, 5)}, kLoose);
  testing::grad_check(with_bias, {testing::param({2, 3, 5}, 6), testing::param({4, 5}, 7), testing::param({4}, 8)}, kLoose);
  Tensor xt = random({5, 6}, 9).t().detach().requires_grad_();  // non-contiguous input
  testing::grad_check(with_bias, {xt, testing::param({4, 5}, 10), testing::param({4}, 11)}, kLoose);
  testing::full_jacobian_check(with_bias, {testing::param({2, 3}, 12), testing::param({2, 3}, 13), testing::param({2}, 14)}, kLoose);
  testing::full_jacobian_check(no_bias, {testing::param({2, 3}, 15), testing::param({2, 3}, 16)}, kLoose);
}

TEST_CASE("matmul and linear reject bad inputs with clear messages", "[core]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(matmul(random({2, 3}, 1), random({4, 5}, 2)),
                    Contains("qgrad::matmul: cannot multiply shapes [2, 3] and [4, 5]: inner sizes 3 and 4 differ"));
  CHECK_THROWS_WITH(matmul(random({3}, 1), random({4}, 2)), Contains("inner sizes 3 and 4 differ"));
  CHECK_THROWS_WITH(matmul(random({2, 2, 3}, 1), random({3, 3, 4}, 2)),
                    Contains("batch axes of shapes [2, 2, 3] and [3, 3, 4] cannot be broadcast"));
  CHECK_THROWS_WITH(matmul(scalar_tensor(2.f), random({2}, 1)), Contains("at least one axis, got shapes [] and [2]"));
  CHECK_THROWS_WITH(matmul(zeros({2, 2}, DType::Int8), random({2, 2}, 1)), Contains("qgrad::matmul: expects float32"));
  CHECK_THROWS_WITH(linear(random({2, 3}, 1), random({3}, 2)), Contains("qgrad::linear: weight must be 2-D [out, in], got shape [3]"));
  CHECK_THROWS_WITH(linear(random({2, 3}, 1), random({4, 5}, 2)),
                    Contains("input of shape [2, 3] does not end in the weight's in-features 5"));
  CHECK_THROWS_WITH(linear(random({2, 3}, 1), random({4, 3}, 2), random({3}, 3)),
                    Contains("bias must have shape [4] to match weight [4, 3], got [3]"));
  CHECK_THROWS_WITH(linear(random({2, 3}, 1), random({4, 3}, 2), zeros({4}, DType::Int32)),
                    Contains("qgrad::linear: expects float32"));
}
