// QuantizedConv2d splits a batch into chunks of images, one chunk per thread at a time, and runs
// a small batch as one GEMM over all its rows (quant/intmodel/int_modules.cpp). Each image's output must
// not depend on which way it went, the batch size or the thread count: a ragged batch against
// the same images one by one, exact equality.
#include <catch2/catch.hpp>

#include "core/threads.h"
#include "quant/intmodel/int_modules.h"
#include "quant/math/qparams.h"

using namespace qgrad;
using namespace qgrad::quant;

TEST_CASE("QuantizedConv2d: a ragged batch equals its images run one by one, for 1 and 2 threads", "[quant]") {
  const int before = get_num_threads();
  Generator gen(31);
  const int64_t n = 37, h = 9, w = 7;
  // LeNet's first conv (1 channel, 5x5, padding 2) and a 3x3 one over 6 channels with stride 2
  for (auto [c_in, c_out, k, stride, pad] : {std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>{1, 6, 5, 1, 2},
                                             {6, 16, 3, 2, 1}}) {
    const Tensor weight = randn({c_out, c_in, k, k}, gen), bias = randn({c_out}, gen);
    const QParams w_qp = qparams_from_range(std::vector<float>(c_out, -2.f), std::vector<float>(c_out, 2.f),
                                            {.symmetric = true, .axis = 0});
    const QParams in_qp = qparams_from_range(-1.f, 3.f, {}), out_qp = qparams_from_range(-4.f, 5.f, {});
    const QuantizedConv2d conv(weight, bias, w_qp, in_qp, out_qp, true,
                               {.in = c_in, .out = c_out, .kernel_h = k, .kernel_w = k, .stride = stride, .padding = pad});
    std::vector<uint8_t> codes(static_cast<size_t>(n * h * w * c_in));
    for (auto& b : codes) b = static_cast<uint8_t>(gen.below(256));
    const Tensor x = from_vector<uint8_t>(codes, {n, h, w, c_in});
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      const Tensor all = conv.run(x);
      for (int64_t i = 0; i < n; ++i) {
        const Tensor one = conv.run(x.slice(0, i, i + 1));
        INFO("C " << c_in << " threads " << threads << " image " << i);
        REQUIRE(all.slice(0, i, i + 1).contiguous().to_vector<uint8_t>() == one.to_vector<uint8_t>());
      }
    }
  }
  set_num_threads(before);
}
