// Grouped, depthwise, dilated and non-square convolutions in the integer model: QuantizedConv2d
// against the integer arithmetic written out here with naive NCHW loops (the definition in
// quant/kernels/conv_direct_u8.h), on swept shapes with ragged sizes; the direct kernel against
// the im2col + GEMM path where both apply; and a depthwise-separable model through prepare /
// calibrate / convert / save / load, equal to its fake-quant twin code for code.
#include <catch2/catch.hpp>

#include <cstdio>
#include <tuple>

#include "core/autograd.h"
#include "nn/nn.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/intmodel/convert.h"
#include "quant/intmodel/int_model_file.h"
#include "quant/kernels/conv_direct_u8.h"
#include "quant/quant.h"

using namespace qgrad;
using namespace qgrad::quant;

namespace {

// y[n, oy, ox, o] by the definition, reading x [N, H, W, C] and the stored weight [O, C/g, kH, kW].
std::vector<uint8_t> reference(const std::vector<uint8_t>& x, int64_t n, int64_t h, int64_t w, const IntConvShape& s,
                               const IntGemm& g) {
  const int64_t cg = s.in / s.groups, og = s.out / s.groups;
  const int64_t oh = (h + 2 * s.padding - s.dilation * (s.kernel_h - 1) - 1) / s.stride + 1;
  const int64_t ow = (w + 2 * s.padding - s.dilation * (s.kernel_w - 1) - 1) / s.stride + 1;
  const int8_t* wq = g.params.qweight.data<int8_t>();
  const int32_t zx = g.params.in_zero_point;
  std::vector<uint8_t> y;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t o = 0; o < s.out; ++o) {
          int64_t acc = g.params.bias[static_cast<size_t>(o)];
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < s.kernel_h; ++ky)
              for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
                const int64_t iy = oy * s.stride - s.padding + ky * s.dilation;
                const int64_t ix = ox * s.stride - s.padding + kx * s.dilation;
                const int64_t ci = o / og * cg + c;
                const int32_t xv = iy < 0 || iy >= h || ix < 0 || ix >= w ? zx : x[((b * h + iy) * w + ix) * s.in + ci];
                acc += (xv - zx) * wq[((o * cg + c) * s.kernel_h + ky) * s.kernel_w + kx];
              }
          y.push_back(requantize(static_cast<int32_t>(acc), g.multiplier[o], g.shift[o], g.params.out_zero_point,
                                 g.params.qmin, g.params.qmax));
        }
  return y;
}

}  // namespace

TEST_CASE("QuantizedConv2d: grouped, depthwise, dilated and non-square convs equal the integer definition exactly",
          "[quant]") {
  Generator gen(77);
  // in, out, kernel_h, kernel_w, stride, padding, dilation, groups
  using Case = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
  for (auto [in, out, kh, kw, stride, pad, dil, groups] : {
           Case{8, 8, 3, 3, 1, 1, 1, 8},    // depthwise 3x3
           Case{7, 7, 3, 3, 2, 1, 1, 7},    // depthwise, odd channels, stride 2
           Case{5, 10, 3, 3, 1, 1, 1, 5},   // depthwise with multiplier 2
           Case{6, 9, 3, 2, 1, 0, 1, 3},    // 3 groups of 2 -> 3, non-square
           Case{4, 6, 1, 3, 1, 1, 2, 2},    // 1x3, dilation 2
           Case{3, 5, 3, 3, 2, 2, 2, 1},    // dense, dilated: the direct kernel
           Case{17, 17, 5, 5, 1, 2, 1, 17}, // depthwise 5x5 over a ragged channel count
           Case{4, 4, 2, 3, 3, 1, 1, 1},    // dense non-square, stride 3: im2col + GEMM
       }) {
    for (int bits : {8, 4}) {
      CAPTURE(in, out, kh, kw, stride, pad, dil, groups, bits);
      const IntConvShape s{.in = in, .out = out, .kernel_h = kh, .kernel_w = kw, .stride = stride, .padding = pad,
                           .dilation = dil, .groups = groups};
      const Tensor weight = randn({out, in / groups, kh, kw}, gen), bias = randn({out}, gen);
      std::vector<float> lo(out), hi(out);
      for (int64_t o = 0; o < out; ++o) {
        const float r = 0.5f + static_cast<float>(gen.below(100)) / 40.f;
        lo[o] = -r;
        hi[o] = r;
      }
      const QParams w_qp = qparams_from_range(lo, hi, {.bits = bits, .symmetric = true, .axis = 0});
      const QParams in_qp = qparams_from_range(-1.5f, 2.5f, {}), out_qp = qparams_from_range(-3.f, 4.f, {});
      for (bool relu : {false, true}) {
        const QuantizedConv2d conv(weight, bias, w_qp, in_qp, out_qp, relu, s);
        const int64_t n = 3, h = 9, w = 11;
        std::vector<uint8_t> codes(static_cast<size_t>(n * h * w * in));
        for (auto& c : codes) c = static_cast<uint8_t>(gen.below(256));
        const Tensor got = conv.run(from_vector<uint8_t>(codes, {n, h, w, in}));
        CHECK(got.to_vector<uint8_t>() == reference(codes, n, h, w, s, *conv.gemm()));
      }
    }
  }
}

TEST_CASE("conv_direct_u8 with groups 1 equals the im2col + GEMM path bit for bit", "[quant][kernel]") {
  Generator gen(5);
  for (auto [c, o, k, stride, pad] : {std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>{3, 8, 3, 1, 1},
                                      {16, 5, 5, 2, 2}, {1, 6, 5, 1, 2}}) {
    CAPTURE(c, o, k, stride, pad);
    const IntConvShape s{.in = c, .out = o, .kernel_h = k, .kernel_w = k, .stride = stride, .padding = pad};
    const QParams w_qp = qparams_from_range(std::vector<float>(o, -1.f), std::vector<float>(o, 1.f),
                                            {.symmetric = true, .axis = 0});
    const QuantizedConv2d conv(randn({o, c, k, k}, gen), randn({o}, gen), w_qp, qparams_from_range(-1.f, 1.f, {}),
                               qparams_from_range(-6.f, 6.f, {}), false, s);
    const int64_t n = 2, h = 10, w = 7;
    std::vector<uint8_t> codes(static_cast<size_t>(n * h * w * c));
    for (auto& b : codes) b = static_cast<uint8_t>(gen.below(256));
    const Tensor via_gemm = conv.run(from_vector<uint8_t>(codes, {n, h, w, c}));
    // The direct kernel on the same stored weight, reordered to its [kH, kW, C, O] layout.
    const IntGemm& g = *conv.gemm();
    std::vector<int8_t> wt(static_cast<size_t>(o * c * k * k));
    for (int64_t oo = 0; oo < o; ++oo)
      for (int64_t cc = 0; cc < c; ++cc)
        for (int64_t t = 0; t < k * k; ++t)
          wt[static_cast<size_t>((t * c + cc) * o + oo)] = g.params.qweight.data<int8_t>()[(oo * c + cc) * k * k + t];
    const DirectConvShape d{.batch = n, .height = h, .width = w, .channels = c, .out_channels = o, .kernel_h = k,
                            .kernel_w = k, .stride = stride, .padding = pad};
    std::vector<uint8_t> direct(static_cast<size_t>(n * d.out_h() * d.out_w() * o));
    conv_direct_u8(codes.data(), d, g.params.in_zero_point, wt.data(), g.params.bias.data(), g.requant, direct.data());
    CHECK(via_gemm.to_vector<uint8_t>() == direct);
  }
}

TEST_CASE("a depthwise-separable model quantizes end to end and matches its fake-quant twin", "[quant]") {
  Generator gen(9);
  auto model = std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 3, .out = 8, .kernel = 3, .padding = 1, .bias = false}, gen), nn::BatchNorm2d({.features = 8}),
      nn::ReLU(),
      nn::Conv2d({.in = 8, .out = 8, .kernel = 3, .stride = 2, .padding = 1, .groups = 8, .bias = false}, gen),
      nn::BatchNorm2d({.features = 8}), nn::ReLU(),
      nn::Conv2d({.in = 8, .out = 12, .kernel = 1, .bias = false}, gen), nn::BatchNorm2d({.features = 12}), nn::ReLU(),
      nn::Conv2d({.in = 12, .out = 12, .kernel = 1, .kernel_w = 3, .padding = 1, .dilation = 2, .groups = 4}, gen),
      nn::ReLU(), nn::Flatten(), nn::Linear({.in = 12 * 8 * 4, .out = 5}, gen));  // 6x6 -> 8x4 by the 1x3
  // Give BatchNorm non-trivial running statistics, as training would.
  model->train(true);
  {
    NoGradGuard no_grad;
    for (int i = 0; i < 3; ++i) (*model)(randn({16, 3, 12, 12}, gen));
  }
  model->eval();
  const Tensor x = randn({64, 3, 12, 12}, gen);
  for (int bits : {8, 4}) {
    CAPTURE(bits);
    auto q = prepare(*model, default_qconfig(*model, {.weight_bits = bits, .activation_bits = 8,
                                                      .keep_ends_8bit = false}));
    {
      NoGradGuard no_grad;
      (*q)(x);
    }
    set_observe(*q, false);
    set_fake_quant(*q, true);
    auto im = convert(*q);
    // No average pool or add here: the fake-quant forward is the integer model's, code for code
    // (docs/quantization.md §7), up to the last float rounding of the dequantized logits.
    NoGradGuard no_grad;
    const Tensor codes = quantize(x, im->input_qparams);
    const Tensor fake_codes = quantize((*q)(x), im->output_qparams);
    CHECK(fake_codes.to_vector<uint8_t>() == im->forward_int(codes).to_vector<uint8_t>());
    // The file keeps groups, dilation and the non-square kernel; the loaded model is bit-identical.
    const std::string path = "grouped_conv_int_model.safetensors";
    save_int_model(path, *im);
    const IntModelFile file = read_int_model(path);
    const std::string& lines = file.metadata.at("qgrad.int_layers");
    CHECK_THAT(lines, Catch::Contains("kernel=3, stride=2, padding=1, groups=8"));
    CHECK_THAT(lines, Catch::Contains("kernel_h=1, kernel_w=3, stride=1, padding=1, dilation=2, groups=4"));
    CHECK(file.model->forward_int(codes).to_vector<uint8_t>() == im->forward_int(codes).to_vector<uint8_t>());
    std::remove(path.c_str());
  }
}

TEST_CASE("Conv2d: a non-square kernel is kernel x kernel_w", "[nn]") {
  Generator gen(3);
  nn::Conv2d conv({.in = 2, .out = 4, .kernel = 1, .kernel_w = 3, .padding = 1}, gen);
  CHECK(conv.weight().shape() == Shape{4, 2, 1, 3});
  const Tensor y = conv(randn({2, 2, 5, 6}, gen));
  CHECK(y.shape() == Shape{2, 4, 7, 6});  // Ho = 5 + 2 - 1 + 1, Wo = 6 + 2 - 3 + 1
  CHECK(conv.options_str().find("kernel=1x3") != std::string::npos);
}
