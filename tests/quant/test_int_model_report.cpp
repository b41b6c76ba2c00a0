// report_int_model / add_float_weight / histogram: the per-layer facts `inspect` prints, checked
// against the model's own parameters and quant/math/metrics.h computed directly.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "core/autograd.h"
#include "core/ops/elementwise.h"
#include "nn/nn.h"
#include "quant/intmodel/int_model_report.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/quant.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

TEST_CASE("report_int_model: bits, granularity, ranges and bytes per layer", "[quant]") {
  Generator gen(51);
  nn::Sequential model(nn::Conv2d({.in = 2, .out = 3, .kernel = 3, .padding = 1}, gen), nn::ReLU(),
                       nn::MaxPool2d({.kernel = 2}), nn::Flatten(), nn::Linear({.in = 48, .out = 5}, gen));
  auto q = prepare(model, default_qconfig(model, {.weight_bits = 4, .activation_bits = 8, .keep_ends_8bit = false}));
  {
    NoGradGuard no_grad;
    (*q)(randn({8, 2, 8, 8}, gen));
  }
  set_observe(*q, false);
  set_fake_quant(*q, true);
  auto im = convert(*q);
  const std::string path = "test_int_model_report.safetensors";
  save_int_model(path, *im);
  const IntModelFile file = read_int_model(path);
  const nn::SafeTensors st = nn::load_safetensors(path);
  std::remove(path.c_str());

  auto rows = report_int_model(file);
  REQUIRE(rows.size() == 4);  // conv, maxpool, flatten, linear
  const LayerReport& conv = rows[0];
  CHECK(conv.kind == "QuantizedConv2d");
  CHECK(conv.weight_bits == 4);
  CHECK(conv.granularity == "channel");
  CHECK(conv.weight_shape == Shape{3, 18});
  const auto& g = *file.model->layers[0]->gemm();
  CHECK(conv.scale_min == *std::min_element(g.params.weight_scale.begin(), g.params.weight_scale.end()));
  CHECK(conv.scale_max == *std::max_element(g.params.weight_scale.begin(), g.params.weight_scale.end()));
  CHECK(conv.scale_min < conv.scale_max);  // random channels differ
  CHECK(conv.zero_point_min == 0);
  CHECK(conv.weight_clip_hi == Approx(7 * conv.scale_max));
  CHECK(conv.weight_clip_lo == Approx(-7 * conv.scale_max));
  int64_t conv_bytes = 0;
  for (const auto& [name, t] : st.tensors)
    if (name.rfind("0.", 0) == 0) conv_bytes += t.numel() * static_cast<int64_t>(dtype_size(t.dtype()));
  CHECK(conv.file_bytes == conv_bytes);
  CHECK(conv.file_bytes == 27 + 3 * 4 * 2 + 4 * 4 + 4 * 2);  // 54 codes in 27 bytes; 3 x (scale, bias); zero points; scales
  CHECK(rows[1].weight_bits == 0);
  CHECK(!rows[1].has_output);
  CHECK(rows[1].file_bytes == 0);
  const QParams out = im->output_qparams;
  CHECK(rows[3].has_output);
  CHECK(rows[3].output_clip_lo == Approx(-out.scale[0] * out.zero_point[0]));
  CHECK(rows[3].output_clip_hi == Approx(out.scale[0] * (255 - out.zero_point[0])));

  // Against the float weights: the SQNR of fake-quantizing them, nothing clipped by a min-max range.
  const Tensor w = model.state_dict().at("0.weight");
  add_float_weight(rows[0], g, w);
  REQUIRE(rows[0].sqnr_db.has_value());
  CHECK(*rows[0].sqnr_db == Approx(sqnr_db(w, fake_quantize(w, g.weight_qparams()))));
  CHECK(*rows[0].sqnr_db > 10);
  CHECK(*rows[0].sqnr_db < 40);  // 4 bits: about 6 dB per bit plus the range's shape
  CHECK(*rows[0].clipped_fraction == 0);
  // Twice the weights no longer fit the range: part of them is clipped and the noise grows.
  LayerReport doubled = rows[0];
  add_float_weight(doubled, g, mul(w, 2.f));
  CHECK(*doubled.clipped_fraction > 0.1);
  CHECK(*doubled.sqnr_db < *rows[0].sqnr_db);
  CHECK_THROWS_WITH(add_float_weight(doubled, g, randn({3, 17}, gen)), Contains("layer 0 (QuantizedConv2d)"));
}

TEST_CASE("histogram: bins cover the data and the clip range", "[quant]") {
  const Histogram h = histogram({-1.f, 0.f, 0.5f, 2.f}, -0.5, 1.0, 3);
  CHECK(h.edges == std::vector<double>{-1, 0, 1, 2});
  CHECK(h.counts == std::vector<int64_t>{1, 2, 1});
  CHECK(h.below == 1);
  CHECK(h.above == 1);
  const Histogram inside = histogram({0.25f, 0.75f}, -1.0, 1.0, 4);  // the clip range widens the bins
  CHECK(inside.edges.front() == -1.0);
  CHECK(inside.edges.back() == 1.0);
  CHECK(inside.counts == std::vector<int64_t>{0, 0, 1, 1});
  CHECK_THROWS_WITH(histogram({}, 0, 1, 4), Contains("needs values (got 0)"));
  CHECK_THROWS_WITH(histogram({1.f, NAN}, 0, 1, 4), Contains("at index 1 is not finite"));
}
