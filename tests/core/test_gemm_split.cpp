// Large products are split over the thread pool by rows or by columns (core/backend/cpu_gemm.cpp);
// every transpose combination must give the single-call answer.
#include <catch2/catch.hpp>

#include <cmath>

#include "support/reference.h"

using namespace qgrad;

TEST_CASE("split GEMM matches a naive product for every transpose and split direction", "[core]") {
  const int before = get_num_threads();
  set_num_threads(2);
  Generator gen(99);
  // tall (row split) and wide (column split), both above the parallel threshold
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{301, 97, 149}, {67, 211, 403}}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        Tensor a = ta ? randn({k, m}, gen).t() : randn({m, k}, gen);
        Tensor b = tb ? randn({n, k}, gen).t() : randn({k, n}, gen);
        Tensor c = matmul(a, b);
        REQUIRE(c.shape() == Shape{m, n});
        std::vector<testing::RefValue> ref(m * n);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j)
            for (int64_t q = 0; q < k; ++q) {
              double t = double(testing::strided_at(a, {i, q})) * testing::strided_at(b, {q, j});
              ref[i * n + j].value += t;
              ref[i * n + j].magnitude += std::abs(t);
            }
        INFO("m=" << m << " k=" << k << " n=" << n << " trans_a=" << ta << " trans_b=" << tb);
        testing::check_close(c, ref);
      }
    }
  }
  set_num_threads(before);
}
