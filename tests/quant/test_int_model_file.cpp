// save_int_model / load_int_model: a saved integer model comes back computing the same uint8
// outputs bit for bit (LeNet-like and MLP-like, 8-, 4- and 2-bit weights, average pools and a
// folded BatchNorm), low-bit weights are stored packed, and damaged or mismatched files are
// refused with a message naming the tensor or layer; the input spec (the preprocessing) round-trips,
// is validated, may be absent (older files), and predict_pixels from it alone reproduces the
// data loader + forward path bit for bit. Non-linear (k-means, power-of-two) weights: the integer
// model equals the fake-quant model exactly, the file holds packed indices and an int8 codebook,
// and a damaged codebook is refused.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "core/autograd.h"
#include "core/ops/reduce.h"
#include "datasets/data_loader.h"
#include "nn/checkpoint.h"
#include "nn/nn.h"
#include "quant/intmodel/int_model_file.h"
#include "quant/intmodel/int_residual.h"
#include "quant/math/packing.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/quant.h"

using namespace qgrad;
using namespace qgrad::quant;
using Catch::Contains;

namespace {

std::shared_ptr<nn::Sequential> lenet_like(Generator& gen) {
  return std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 1, .out = 4, .kernel = 3, .padding = 1}, gen), nn::ReLU(), nn::MaxPool2d({.kernel = 2}),
      nn::Conv2d({.in = 4, .out = 6, .kernel = 3, .stride = 2}, gen), nn::ReLU(), nn::MaxPool2d({.kernel = 2, .stride = 1}),
      nn::Flatten(), nn::Linear({.in = 6, .out = 7}, gen), nn::ReLU(), nn::Linear({.in = 7, .out = 5}, gen));
}

std::shared_ptr<nn::Sequential> mlp_like(Generator& gen) {
  return std::make_shared<nn::Sequential>(nn::Flatten(), nn::Linear({.in = 64, .out = 33}, gen), nn::ReLU(),
                                          nn::Linear({.in = 33, .out = 10}, gen));
}

std::shared_ptr<nn::Sequential> pooling_net(Generator& gen) {
  auto m = std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 1, .out = 4, .kernel = 3, .padding = 1, .bias = false}, gen), nn::BatchNorm2d({.features = 4}),
      nn::ReLU(), nn::AvgPool2d({.kernel = 2}), nn::GlobalAvgPool(), nn::Linear({.in = 4, .out = 3}, gen));
  NoGradGuard no_grad;  // non-trivial BN running statistics
  m->train();
  (*m)(randn({8, 1, 8, 8}, gen));
  m->eval();
  return m;
}

// Two basic blocks (identity, then a strided projection) and a plain Residual with a ReLU
// module after it, nested inside the body of a third: IntResidual at two levels.
std::shared_ptr<nn::Sequential> residual_net(Generator& gen) {
  auto inner = std::make_shared<nn::Sequential>(nn::Conv2d({.in = 8, .out = 8, .kernel = 3, .padding = 1}, gen),
                                                nn::ReLU(), nn::Residual(nn::Conv2d({.in = 8, .out = 8, .kernel = 1}, gen)),
                                                nn::ReLU());
  auto m = std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 1, .out = 4, .kernel = 3, .padding = 1, .bias = false}, gen), nn::BatchNorm2d({.features = 4}),
      nn::ReLU(), nn::BasicBlock({.in = 4, .out = 4}, gen), nn::BasicBlock({.in = 4, .out = 8, .stride = 2}, gen),
      nn::Residual(inner), nn::GlobalAvgPool(), nn::Linear({.in = 8, .out = 3}, gen));
  NoGradGuard no_grad;  // non-trivial BN running statistics
  m->train();
  (*m)(randn({8, 1, 8, 8}, gen));
  m->eval();
  return m;
}

std::shared_ptr<IntModel> converted(const nn::Sequential& model, const Tensor& calib, int weight_bits, int act_bits,
                                    bool per_channel = true) {
  auto q = prepare(model, default_qconfig(model, {.weight_bits = weight_bits, .activation_bits = act_bits,
                                                  .per_channel = per_channel, .keep_ends_8bit = false}));
  {
    NoGradGuard no_grad;
    (*q)(calib);
  }
  set_observe(*q, false);
  set_fake_quant(*q, true);
  return convert(*q);
}

std::string crc_lines(const nn::StateDict& sd) {
  std::string s;
  for (const auto& [name, t] : sd) {
    const Tensor c = t.contiguous();
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), static_cast<const Bytef*>(c.raw_data()),
                            static_cast<uInt>(c.numel() * static_cast<int64_t>(dtype_size(c.dtype()))));
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08lx", crc);
    s += name + " " + buf + "\n";
  }
  return s;
}

// Rewrites a saved model after edit() changed its tensors or metadata; the checksums are
// recomputed (unless keep_crc), so the loader's other checks are the ones that must fire.
template <class F>
void rewrite(const std::string& path, F edit, bool keep_crc = false) {
  nn::SafeTensors st = nn::load_safetensors(path);
  edit(st);
  if (!keep_crc) st.metadata["qgrad.crc32"] = crc_lines(st.tensors);
  nn::save_safetensors(path, st.tensors, st.metadata);
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("int model file: save -> load runs bit-exactly (LeNet-like, MLP-like, pools; 8/4/3/2-bit weights)", "[quant]") {
  Generator gen(41);
  const std::string path = "test_int_model_roundtrip.safetensors";
  struct Case {
    const char* name;
    std::shared_ptr<nn::Sequential> model;
    Shape input;
  };
  const std::vector<Case> cases{{"lenet", lenet_like(gen), {1, 12, 12}}, {"mlp", mlp_like(gen), {1, 8, 8}},
                                {"pools", pooling_net(gen), {1, 8, 8}}, {"residual", residual_net(gen), {1, 8, 8}}};
  for (const auto& c : cases) {
    Shape calib_shape{16}, test_shape{9};
    for (int64_t d : c.input) calib_shape.push_back(d), test_shape.push_back(d);
    const Tensor calib = randn(calib_shape, gen), x = randn(test_shape, gen);
    for (int bits : {8, 4, 3, 2}) {
      for (bool per_channel : {true, false}) {
        INFO(c.name << ", " << bits << "-bit weights, per_channel " << per_channel);
        auto im = converted(*c.model, calib, bits, bits == 2 ? 4 : 8, per_channel);
        save_int_model(path, *im, {{"arch", c.name}});
        const IntModelFile f = read_int_model(path);
        REQUIRE(f.model->layers.size() == im->layers.size());
        for (size_t i = 0; i < im->layers.size(); ++i) CHECK(f.model->layers[i]->describe() == im->layers[i]->describe());
        CHECK(f.metadata.at("arch") == c.name);
        const Tensor q = quantize(x, im->input_qparams);
        const auto want = im->forward_int(q).to_vector<uint8_t>();
        CHECK(f.model->forward_int(quantize(x, f.model->input_qparams)).to_vector<uint8_t>() == want);
        CHECK(f.model->input_qparams.bits == im->input_qparams.bits);
        NoGradGuard no_grad;
        CHECK((*f.model)(x).to_vector() == (*im)(x).to_vector());
        // The weights of every quantized layer: packed when the bits allow, codes preserved.
        const nn::SafeTensors st = nn::load_safetensors(path);
        for (size_t i = 0; i < im->layers.size(); ++i) {
          const IntGemm* g = im->layers[i]->gemm();
          if (!g) continue;
          const Tensor w = st.tensors.at(std::to_string(i) + ".weight");
          const int64_t numel = g->params.qweight.numel();
          const int stored = bits == 3 ? 4 : bits;  // 3-bit codes take 4-bit fields
          CHECK(w.numel() == (bits == 8 ? numel : (numel * stored + 7) / 8));
          CHECK(w.dtype() == (bits == 8 ? DType::Int8 : DType::UInt8));
          CHECK(f.layer_bytes[i] > w.numel());
        }
      }
    }
  }
  std::remove(path.c_str());
}

TEST_CASE("int model file: the metadata describes each layer readably", "[quant]") {
  Generator gen(42);
  auto im = converted(*lenet_like(gen), randn({8, 1, 12, 12}, gen), 4, 8);
  const std::string path = "test_int_model_meta.safetensors";
  save_int_model(path, *im, {{"arch", "tiny"}});
  const nn::SafeTensors st = nn::load_safetensors(path);
  std::remove(path.c_str());
  const std::string layers = st.metadata.at("qgrad.int_layers");
  CHECK_THAT(layers, Contains("QuantizedConv2d(in=1, out=4, kernel=3, stride=1, padding=1, weight_bits=4, "
                              "granularity=channel, relu=1)\nIntMaxPool2d(kernel=2, stride=0, padding=0)\n"));
  CHECK_THAT(layers, Contains("QuantizedLinear(in=7, out=5, weight_bits=4, granularity=channel, relu=0)"));
  CHECK(st.metadata.at("qgrad.format") == kIntModelFormat);
  CHECK(st.metadata.at("qgrad.input_bits") == "8");
  CHECK(st.tensors.at("input.qparams").to_vector()[0] == im->input_qparams.scale[0]);
  CHECK(st.tensors.at("0.weight").shape() == Shape{(4 * 9 * 4 + 7) / 8});
  CHECK_THROWS_WITH(save_int_model(path, *im, {{"qgrad.format", "x"}}), Contains("reserved prefix 'qgrad.'"));
}

TEST_CASE("int model file: damaged and mismatched files are refused with a message", "[quant]") {
  Generator gen(43);
  auto im = converted(*lenet_like(gen), randn({8, 1, 12, 12}, gen), 8, 8);
  const std::string path = "test_int_model_bad.safetensors";
  auto fresh = [&] { save_int_model(path, *im, {{"arch", "tiny"}}); };

  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors.erase("5.bias"); });
  CHECK_THROWS_WITH(load_int_model(path), Contains(path) && Contains("tensor '5.bias' is missing"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors["9.extra"] = from_vector<int32_t>({1, 2}, {2}); });
  CHECK_THROWS_WITH(load_int_model(path), Contains("unexpected tensor '9.extra'"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors["0.bias"] = from_vector({1.f, 2.f, 3.f, 4.f}, {4}); });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '0.bias' is float32 [4], expected int32 [4]"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors["5.bias"] = from_vector<int32_t>({0, 0}, {2}); });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '5.bias' is int32 [2], expected int32 [7]"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) {
    auto& l = st.metadata["qgrad.int_layers"];
    l.replace(l.find("IntMaxPool2d"), 12, "IntMinPool2d");
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains("layer 1 (IntMinPool2d): unknown layer kind 'IntMinPool2d'"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) {
    auto& l = st.metadata["qgrad.int_layers"];
    l.replace(l.find("weight_bits=8"), 13, "weight_bits=9");
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains("layer 0 (QuantizedConv2d): option weight_bits=9 is outside [2, 8]"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) {
    auto& l = st.metadata["qgrad.int_layers"];
    l.replace(l.find("stride=1"), 8, "stride=1, tilt=2");
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains("unknown option 'tilt'"));

  fresh();  // claims 4-bit weights but stores int8 codes
  rewrite(path, [](nn::SafeTensors& st) {
    auto& l = st.metadata["qgrad.int_layers"];
    l.replace(l.find("weight_bits=8"), 13, "weight_bits=4");
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '0.weight' is int8 [4, 9], expected uint8 [18]"));

  fresh();  // -128 is outside the restricted symmetric range
  rewrite(path, [](nn::SafeTensors& st) {
    Tensor w = st.tensors.at("6.weight").clone();
    w.data<int8_t>()[3] = -128;
    st.tensors["6.weight"] = w;
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '6.weight': code -128 at index 3"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors["5.weight_scale"] = from_vector({1.f, 1.f, 1.f, -2.f, 1.f, 1.f, 1.f}, {7}); });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '5.weight_scale': scale -2 at index 3 is not positive"));

  fresh();  // s_in s_w / s_out beyond what a fixed-point multiplier holds
  rewrite(path, [](nn::SafeTensors& st) { st.tensors["5.scales"] = from_vector({1e10f, 1e-10f}, {2}); });
  CHECK_THROWS_WITH(load_int_model(path), Contains("layer 5 (QuantizedLinear): qgrad::quantize_multiplier"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors["input.qparams"] = from_vector({0.f, 3.f}, {2}); });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor 'input.qparams': scale 0 is not positive"));

  fresh();  // a weight changed without updating the checksum
  rewrite(path, [](nn::SafeTensors& st) {
    Tensor w = st.tensors.at("0.weight").clone();
    w.data<int8_t>()[0] = static_cast<int8_t>(w.data<int8_t>()[0] ^ 1);
    st.tensors["0.weight"] = w;
  }, /*keep_crc=*/true);
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '0.weight' is corrupted: CRC-32"));

  fresh();  // one flipped bit in the data section of the file itself
  std::string bytes = bytes_of(path);
  bytes[bytes.size() - 5] = static_cast<char>(bytes[bytes.size() - 5] ^ 0x10);
  write_bytes(path, bytes);
  CHECK_THROWS_WITH(load_int_model(path), Contains("is corrupted: CRC-32"));

  fresh();
  bytes = bytes_of(path);
  write_bytes(path, bytes.substr(0, bytes.size() - 100));
  CHECK_THROWS_WITH(load_int_model(path), Contains(path) && Contains("load_safetensors"));

  nn::Sequential lin(nn::Linear({.in = 2, .out = 2}, gen));
  nn::save_checkpoint(path, lin);
  CHECK_THROWS_WITH(load_int_model(path), Contains("not a qgrad integer model") && Contains("qgrad-checkpoint-1"));
  std::remove(path.c_str());
}

TEST_CASE("int model file: residual blocks round-trip bit-exactly, nested lines indented", "[quant]") {
  Generator gen(44);
  auto model = residual_net(gen);
  const Tensor x = randn({16, 1, 8, 8}, gen);
  auto im = converted(*model, randn({32, 1, 8, 8}, gen), 8, 8);
  const std::string path = "test_int_model_residual.safetensors";
  save_int_model(path, *im);
  const nn::SafeTensors st = nn::load_safetensors(path);
  const std::string layers = st.metadata.at("qgrad.int_layers");
  CHECK_THAT(layers, Contains("IntResidual(body=2, shortcut=0, relu=1)\n  QuantizedConv2d(in=4, out=4, kernel=3"));
  CHECK_THAT(layers, Contains("IntResidual(body=2, shortcut=1, relu=1)\n  QuantizedConv2d(in=4, out=8, kernel=3, "
                              "stride=2"));
  CHECK_THAT(layers, Contains("IntResidual(body=2, shortcut=0, relu=0)\n  QuantizedConv2d(in=8, out=8, kernel=3, "
                              "stride=1, padding=1, weight_bits=8, granularity=channel, relu=1)\n"
                              "  IntResidual(body=1, shortcut=0, relu=1)\n    QuantizedConv2d(in=8, out=8, kernel=1"));
  CHECK(st.tensors.at("3.zero_points").shape() == Shape{5});
  CHECK(st.tensors.at("2.shortcut.0.weight").shape() == Shape{8, 4});
  CHECK(st.tensors.at("3.body.1.body.0.bias").shape() == Shape{8});
  const IntModelFile f = read_int_model(path);
  REQUIRE(f.model->layers.size() == im->layers.size());
  for (size_t i = 0; i < im->layers.size(); ++i) CHECK(f.model->layers[i]->describe() == im->layers[i]->describe());
  const auto& a = dynamic_cast<const IntResidual&>(*im->layers[2]);
  const auto& b = dynamic_cast<const IntResidual&>(*f.model->layers[2]);
  CHECK(a.add().m_a == b.add().m_a);
  CHECK(a.add().m_b == b.add().m_b);
  CHECK(a.add().t == b.add().t);
  const auto want = im->forward_int(quantize(x, im->input_qparams)).to_vector<uint8_t>();
  CHECK(f.model->forward_int(quantize(x, f.model->input_qparams)).to_vector<uint8_t>() == want);
  CHECK(f.layer_bytes[2] > st.tensors.at("2.shortcut.0.weight").numel());
  std::remove(path.c_str());
}

TEST_CASE("int model file: damaged residual entries are refused with a message", "[quant]") {
  Generator gen(45);
  auto im = converted(*residual_net(gen), randn({16, 1, 8, 8}, gen), 8, 8);
  const std::string path = "test_int_model_residual_bad.safetensors";
  auto fresh = [&] { save_int_model(path, *im); };

  fresh();  // the block claims one body layer fewer: its second body line is then out of place
  rewrite(path, [](nn::SafeTensors& st) {
    auto& l = st.metadata["qgrad.int_layers"];
    l.replace(l.find("IntResidual(body=2, shortcut=0, relu=1"), 18, "IntResidual(body=1");
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains("line 4") && Contains("is indented 2 spaces, expected 0"));

  fresh();  // more body layers than lines follow
  rewrite(path, [](nn::SafeTensors& st) {
    auto& l = st.metadata["qgrad.int_layers"];
    l.replace(l.find("IntResidual(body=2, shortcut=0, relu=0"), 18, "IntResidual(body=9");
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains("layer 3.body.2") && Contains("lists 9 body"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors.erase("2.shortcut.0.bias"); });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '2.shortcut.0.bias' is missing"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors["3.scales"] = from_vector({0.1f, 0.f, 0.2f}, {3}); });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '3.scales': scale 0 at index 1 is not positive"));

  fresh();  // qmin must be the output zero point when the ReLU is fused
  rewrite(path, [](nn::SafeTensors& st) {
    auto z = st.tensors.at("2.zero_points").to_vector<int32_t>();
    z[3] = z[2] + 1;
    st.tensors["2.zero_points"] = from_vector<int32_t>(z, {5});
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '2.zero_points': qmin") && Contains("does not match relu=1"));

  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors["3.scales"] = from_vector({1e10f, 1.f, 1e-10f}, {3}); });
  CHECK_THROWS_WITH(load_int_model(path), Contains("layer 3 (IntResidual): qgrad::quantize_multiplier"));

  fresh();  // a corrupted nested weight
  rewrite(path, [](nn::SafeTensors& st) {
    Tensor w = st.tensors.at("3.body.1.body.0.weight").clone();
    w.data<int8_t>()[0] = static_cast<int8_t>(w.data<int8_t>()[0] ^ 1);
    st.tensors["3.body.1.body.0.weight"] = w;
  }, /*keep_crc=*/true);
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '3.body.1.body.0.weight' is corrupted: CRC-32"));
  std::remove(path.c_str());
}

namespace {

// A small classifier on real image shapes (MNIST 1x28x28, CIFAR-10 3x32x32), calibrated on
// the loader's normalized images so the input qparams cover what real pixels give.
std::shared_ptr<IntModel> image_classifier(const data::Dataset& set, const InputSpec& spec, Generator& gen) {
  const int64_t c = spec.shape.channels, hw = spec.shape.height / 4;
  auto m = std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = c, .out = 4, .kernel = 3, .padding = 1}, gen), nn::ReLU(), nn::MaxPool2d({.kernel = 4}),
      nn::Flatten(), nn::Linear({.in = 4 * hw * hw, .out = 10}, gen));
  data::DataLoader loader(set, {.batch_size = 64, .mean = spec.mean, .std = spec.std});
  auto im = converted(*m, loader.batch(0).images, 8, 8);
  im->input_spec = spec;
  return im;
}

data::Dataset random_images(const data::ImageShape& shape, int64_t n, Generator& gen) {
  std::vector<uint8_t> pixels(static_cast<size_t>(n * shape.numel()));
  for (auto& p : pixels) p = static_cast<uint8_t>(gen.below(256));
  return data::Dataset(shape, std::move(pixels), std::vector<int32_t>(static_cast<size_t>(n), 0),
                       {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
}

const InputSpec kMnistSpec{.shape = {.channels = 1, .height = 28, .width = 28}, .mean = {0.1307f}, .std = {0.3081f}};
const InputSpec kCifarSpec{.shape = {.channels = 3, .height = 32, .width = 32},
                           .mean = {0.4914f, 0.4822f, 0.4465f}, .std = {0.2470f, 0.2435f, 0.2616f}};

}  // namespace

TEST_CASE("int model file: the input spec round-trips exactly; files without one still load", "[quant]") {
  Generator gen(51);
  const std::string path = "test_int_model_spec.safetensors";
  for (const InputSpec& spec : {kMnistSpec, kCifarSpec}) {
    const data::Dataset set = random_images(spec.shape, 64, gen);
    auto im = image_classifier(set, spec, gen);
    save_int_model(path, *im, {{"arch", "tiny"}});
    const IntModelFile f = read_int_model(path);
    REQUIRE(f.model->input_spec.has_value());
    CHECK(f.model->input_spec->shape == spec.shape);
    CHECK(f.model->input_spec->mean == spec.mean);  // bit for bit, from the shortest decimal text
    CHECK(f.model->input_spec->std == spec.std);
    CHECK(f.metadata.at("qgrad.input_layout") == "NCHW");
    CHECK(f.metadata.at("qgrad.input_pixel_max") == "255");
    if (spec.shape.channels == 3) {
      CHECK(f.metadata.at("qgrad.input_shape") == "3 32 32");
      CHECK(f.metadata.at("qgrad.input_mean") == "0.4914 0.4822 0.4465");
      CHECK(describe(*f.model->input_spec) == "3x32x32 NCHW uint8/255, mean 0.4914 0.4822 0.4465, std 0.247 0.2435 0.2616");
    }
  }
  // Written before the spec existed: no qgrad.input_* keys, the model loads without one.
  Generator g2(52);
  auto plain = converted(*lenet_like(g2), randn({8, 1, 12, 12}, g2), 8, 8);
  save_int_model(path, *plain, {{"arch", "tiny"}});
  CHECK(nn::load_safetensors(path).metadata.count("qgrad.input_shape") == 0);
  CHECK_FALSE(load_int_model(path)->input_spec.has_value());
  CHECK_THROWS_WITH(plain->predict_pixels(from_vector<uint8_t>(std::vector<uint8_t>(144, 0), {1, 1, 12, 12})),
                    Contains("no input spec"));
  std::remove(path.c_str());
}

TEST_CASE("int model file: a malformed or partial input spec is refused naming the file and key", "[quant]") {
  Generator gen(53);
  const data::Dataset set = random_images(kCifarSpec.shape, 64, gen);
  auto im = image_classifier(set, kCifarSpec, gen);
  const std::string path = "test_int_model_bad_spec.safetensors";
  const auto refused = [&](const std::string& key, const std::string& value, const std::string& why) {
    save_int_model(path, *im);
    rewrite(path, [&](nn::SafeTensors& st) {
      if (value.empty()) st.metadata.erase(key);
      else st.metadata[key] = value;
    });
    INFO(key << " = '" << value << "'");
    CHECK_THROWS_WITH(load_int_model(path), Contains(path) && Contains("'" + key + "'") && Contains(why));
  };
  refused("qgrad.input_shape", "3 32", "is not three positive integers 'C H W'");
  refused("qgrad.input_shape", "3 0 32", "is not three positive integers");
  refused("qgrad.input_layout", "NHWC", "only 'NCHW'");
  refused("qgrad.input_pixel_max", "1", "only 255");
  refused("qgrad.input_mean", "0.4914 0.4822", "has 2 values for 3 channels");
  refused("qgrad.input_mean", "0.4914 x 0.4465", "has 'x', not a finite number");
  refused("qgrad.input_std", "0.2470 0 0.2616", "has '0', not a positive finite number");
  refused("qgrad.input_std", "0.2470 nan 0.2616", "not a positive finite number");
  refused("qgrad.input_std", "", "4 of the 5 input spec keys");
  std::remove(path.c_str());
  InputSpec bad = kMnistSpec;
  bad.std = {0.f};
  im->input_spec = bad;
  CHECK_THROWS_WITH(save_int_model(path, *im), Contains("std 0 positive and finite"));
}

TEST_CASE("IntModel::predict_pixels: from raw pixels and the spec alone, the programs' results bit for bit", "[quant]") {
  Generator gen(54);
  const std::string path = "test_int_model_pixels.safetensors";
  for (const InputSpec& spec : {kMnistSpec, kCifarSpec}) {
    INFO(describe(spec));
    const data::Dataset calib = random_images(spec.shape, 64, gen), test = random_images(spec.shape, 200, gen);
    auto im = image_classifier(calib, spec, gen);
    save_int_model(path, *im);
    const auto loaded = load_int_model(path);  // only what the file holds
    // The programs' path: DataLoader normalization (examples/common/task.h's mean/std), then forward.
    data::DataLoader loader(test, {.batch_size = 200, .mean = spec.mean, .std = spec.std});
    const Tensor images = loader.batch(0).images;
    const Tensor want_codes = im->forward_int(quantize(images, im->input_qparams));
    const std::vector<int32_t> want_labels = argmax((*im)(images), 1).to_vector<int32_t>();
    // The same images as raw pixels.
    std::vector<uint8_t> raw;
    for (size_t i = 0; i < test.size(); ++i)
      raw.insert(raw.end(), test.get(i).pixels, test.get(i).pixels + spec.shape.numel());
    const Tensor pixels = from_vector<uint8_t>(raw, {200, spec.shape.channels, spec.shape.height, spec.shape.width});
    CHECK(normalize_pixels(spec, pixels).to_vector() == images.to_vector());
    const PixelPrediction got = loaded->predict_pixels(pixels);
    CHECK(got.codes.to_vector<uint8_t>() == want_codes.to_vector<uint8_t>());
    CHECK(got.labels == want_labels);
    CHECK_THROWS_WITH(loaded->predict_pixels(from_vector<uint8_t>(raw, {1, 200 * spec.shape.channels, spec.shape.height,
                                                                          spec.shape.width})),
                      Contains("expects uint8 [N, " + std::to_string(spec.shape.channels)));
  }
  std::remove(path.c_str());
}

namespace {

// A small conv net with a folded BatchNorm: prepare with the weight method at `bits` (the first
// and last layer at 8 bits, linear), calibrate, freeze.
std::shared_ptr<nn::Sequential> nonlinear_fake_quant(const nn::Sequential& model, const Tensor& calib,
                                                     WeightMethod method, int bits) {
  auto q = prepare(model, default_qconfig(model, {.weight_bits = bits, .activation_bits = 8,
                                                  .weight_method = method}));
  {
    NoGradGuard no_grad;
    (*q)(calib);
  }
  set_observe(*q, false);
  set_fake_quant(*q, true);
  return q;
}

std::shared_ptr<nn::Sequential> codebook_net(Generator& gen) {
  auto m = std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 1, .out = 4, .kernel = 3, .padding = 1}, gen), nn::ReLU(),
      nn::Conv2d({.in = 4, .out = 6, .kernel = 3, .bias = false}, gen), nn::BatchNorm2d({.features = 6}), nn::ReLU(),
      nn::Conv2d({.in = 6, .out = 5, .kernel = 3, .stride = 2}, gen), nn::ReLU(), nn::Flatten(),
      nn::Linear({.in = 5 * 2 * 2, .out = 7}, gen), nn::ReLU(), nn::Linear({.in = 7, .out = 3}, gen));
  NoGradGuard no_grad;  // non-trivial BN running statistics
  m->train();
  (*m)(randn({8, 1, 8, 8}, gen));
  m->eval();
  return m;
}

}  // namespace

TEST_CASE("int model file: k-means and power-of-two weights, integer == fake-quant exactly, file round trip", "[quant]") {
  Generator gen(61);
  auto model = codebook_net(gen);
  const Tensor calib = randn({16, 1, 8, 8}, gen), x = randn({24, 1, 8, 8}, gen);
  const std::string path = "test_int_model_codebook.safetensors";
  for (WeightMethod method : {WeightMethod::KMeans, WeightMethod::PowerOfTwo}) {
    for (int bits : {2, 3, 4}) {
      INFO(to_string(method) << ", " << bits << " bits");
      auto fq = nonlinear_fake_quant(*model, calib, method, bits);
      auto im = convert(*fq);
      NoGradGuard no_grad;
      CHECK((*fq)(x).to_vector() == (*im)(x).to_vector());
      save_int_model(path, *im);
      const IntModelFile f = read_int_model(path);
      CHECK(f.model->forward_int(quantize(x, f.model->input_qparams)).to_vector<uint8_t>() ==
            im->forward_int(quantize(x, im->input_qparams)).to_vector<uint8_t>());
      const nn::SafeTensors st = nn::load_safetensors(path);
      int codebook_layers = 0;
      for (size_t i = 0; i < im->layers.size(); ++i) {
        const IntGemm* g = im->layers[i]->gemm();
        if (!g || g->params.weight_method == WeightMethod::Linear) continue;
        ++codebook_layers;
        const std::string name = std::to_string(i);
        CHECK_THAT(im->layers[i]->describe(), Contains("weight_bits=" + std::to_string(bits)) &&
                                                  Contains("weights=" + to_string(method)));
        const Tensor w = st.tensors.at(name + ".weight"), cb = st.tensors.at(name + ".codebook");
        const int64_t n = g->params.qweight.numel();
        CHECK(w.dtype() == DType::UInt8);
        CHECK(w.numel() == (n * (bits == 2 ? 2 : 4) + 7) / 8);
        CHECK(cb.dtype() == DType::Int8);
        CHECK(cb.shape() == Shape{int64_t{1} << bits});
        const IntGemm* lg = f.model->layers[i]->gemm();
        CHECK(lg->params.codebook == cb.to_vector<int8_t>());
        CHECK(lg->params.indices.to_vector<uint8_t>() == g->params.indices.to_vector<uint8_t>());
        // The loaded codes are the codebook's levels at the stored indices: what the kernels take.
        const auto codes = lg->params.qweight.to_vector<int8_t>();
        const auto idx = lg->params.indices.to_vector<uint8_t>();
        bool expanded = true;
        for (size_t j = 0; j < codes.size(); ++j) expanded &= codes[j] == lg->params.codebook[idx[j]];
        CHECK(expanded);
        CHECK(codes == g->params.qweight.to_vector<int8_t>());
      }
      CHECK(codebook_layers == 3);  // the first and the last layer stay linear at 8 bits
    }
  }
  std::remove(path.c_str());
}

TEST_CASE("int model file: a damaged codebook or index is refused naming file and tensor", "[quant]") {
  Generator gen(62);
  auto model = codebook_net(gen);
  auto im = convert(*nonlinear_fake_quant(*model, randn({16, 1, 8, 8}, gen), WeightMethod::KMeans, 3));
  const std::string path = "test_int_model_bad_codebook.safetensors";
  auto fresh = [&] { save_int_model(path, *im); };
  // Layer 2 is the strided conv: 5 x 54 3-bit indices in 4-bit fields, 135 bytes.
  fresh();
  rewrite(path, [](nn::SafeTensors& st) {
    Tensor w = st.tensors.at("2.weight").clone();
    w.data<uint8_t>()[5] = static_cast<uint8_t>((w.data<uint8_t>()[5] & 0x0f) | 0xb0);  // index 11 at 11
    st.tensors["2.weight"] = w;
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains(path) && Contains("tensor '2.weight'") &&
                                              Contains("index 11 at 11 is past the 8-entry codebook"));
  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors["2.codebook"] = from_vector<int8_t>({1, 2, 3, 4}, {4}); });
  CHECK_THROWS_WITH(load_int_model(path), Contains(path) && Contains("tensor '2.codebook' is int8 [4], expected int8 [8]"));
  fresh();
  rewrite(path, [](nn::SafeTensors& st) {
    Tensor c = st.tensors.at("2.codebook").clone();
    c.data<int8_t>()[0] = -128;
    st.tensors["2.codebook"] = c;
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '2.codebook'") && Contains("level -128 at 0 is outside [-127, 127]"));
  fresh();
  rewrite(path, [](nn::SafeTensors& st) { st.tensors.erase("2.codebook"); });
  CHECK_THROWS_WITH(load_int_model(path), Contains("tensor '2.codebook' is missing"));
  fresh();
  rewrite(path, [](nn::SafeTensors& st) {
    auto& l = st.metadata["qgrad.int_layers"];
    l.replace(l.find("weights=kmeans"), 14, "weights=lloyd");
  });
  CHECK_THROWS_WITH(load_int_model(path), Contains("layer 1 (QuantizedConv2d): weights 'lloyd' is not kmeans or pow2"));
  fresh();  // a linear line with a codebook left over: the codebook is unexpected
  rewrite(path, [](nn::SafeTensors& st) {
    auto& l = st.metadata["qgrad.int_layers"];
    l.replace(l.find(", weights=kmeans"), 16, "");
  });
  CHECK_THROWS(load_int_model(path));
  std::remove(path.c_str());
}
