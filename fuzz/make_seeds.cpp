// Writes the fuzz targets' seed corpora from real data, with the library's own writers
// (scripts/fuzz_corpus.sh runs it; nothing here is committed), one folder per target:
//   <out>/idx_fuzz/         MNIST IDX pairs as idx_fuzz reads them (4-byte split, images,
//                           labels): the first few test digits, plain and gzip-compressed
//   <out>/cifar_fuzz/       CIFAR-10 binary batches of records made from the given CIFAR JPEGs
//   <out>/image_fuzz/       the CIFAR JPEGs themselves, and PNGs of them and of MNIST digits
//   <out>/safetensors_fuzz/ a small LeNet-like float checkpoint (nn::save_safetensors), and the
//                           int8 model below (the same container)
//   <out>/int_model_fuzz/   that model calibrated on real MNIST digits and converted to int8 and
//                           to 4-bit weights (quant::save_int_model), with an input spec
// Usage: make_seeds MNIST_DIR OUT_DIR CIFAR_JPG...
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "core/autograd.h"
#include "datasets/image_decode.h"
#include "datasets/mnist.h"
#include "nn/nn.h"
#include "nn/safetensors.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/intmodel/int_model_file.h"
#include "quant/quant.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
// stb_image_write.h fills its structs with `= {0}`, which -Wextra flags; the header is not ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace {

using namespace qgrad;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

void write(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("make_seeds: cannot write " + path.string());
}

Bytes read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("make_seeds: cannot read " + path.string());
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Bytes gzip(const Bytes& in) {
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  Bytes out(deflateBound(&z, in.size()) + 32);
  z.next_in = const_cast<Bytes::value_type*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// An IDX seed of the first n test digits: split, images file, labels file.
Bytes idx_seed(const data::Dataset& mnist, uint32_t n, bool gz) {
  Bytes images, labels;
  put_be32(images, 2051), put_be32(images, n), put_be32(images, 28), put_be32(images, 28);
  put_be32(labels, 2049), put_be32(labels, n);
  for (uint32_t i = 0; i < n; ++i) {
    const data::Sample s = mnist.get(i);
    images.insert(images.end(), s.pixels, s.pixels + 28 * 28);
    labels.push_back(static_cast<uint8_t>(s.label));
  }
  if (gz) images = gzip(images), labels = gzip(labels);
  Bytes seed;
  put_be32(seed, static_cast<uint32_t>(images.size()));
  seed.insert(seed.end(), images.begin(), images.end());
  seed.insert(seed.end(), labels.begin(), labels.end());
  return seed;
}

Bytes png(const uint8_t* hwc, int h, int w, int c) {
  Bytes out;
  auto sink = [](void* ctx, void* data, int size) {
    auto* o = static_cast<Bytes*>(ctx);
    o->insert(o->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  if (!stbi_write_png_to_func(sink, &out, w, h, c, hwc, w * c)) throw std::runtime_error("stbi_write_png_to_func");
  return out;
}

std::shared_ptr<nn::Sequential> small_lenet(Generator& gen) {
  return std::make_shared<nn::Sequential>(
      nn::Conv2d({.in = 1, .out = 4, .kernel = 5, .stride = 2, .padding = 2}, gen), nn::ReLU(),
      nn::MaxPool2d({.kernel = 2}), nn::Conv2d({.in = 4, .out = 6, .kernel = 3, .stride = 2}, gen), nn::ReLU(),
      nn::Flatten(), nn::Linear({.in = 6 * 3 * 3, .out = 10}, gen));
}

void model_seeds(const data::Dataset& mnist, const fs::path& out) {
  Generator gen(7);
  auto model = small_lenet(gen);
  fs::create_directories(out / "safetensors_fuzz");
  nn::save_safetensors((out / "safetensors_fuzz" / "small_lenet.safetensors").string(), model->state_dict(),
                       {{"qgrad.model", "small_lenet"}, {"note", "fuzz seed"}});
  quant::InputSpec spec{{1, 28, 28}, {0.1307f}, {0.3081f}};
  std::vector<uint8_t> pixels;
  for (size_t i = 0; i < 64; ++i) pixels.insert(pixels.end(), mnist.get(i).pixels, mnist.get(i).pixels + 28 * 28);
  const Tensor calib = quant::normalize_pixels(spec, from_vector(pixels, {64, 1, 28, 28}));
  for (int bits : {8, 4}) {
    auto q = quant::prepare(*model, quant::default_qconfig(*model, {.weight_bits = bits}));
    {
      NoGradGuard no_grad;
      (*q)(calib);
    }
    quant::set_observe(*q, false);
    quant::set_fake_quant(*q, true);
    auto int_model = quant::convert(*q);
    int_model->input_spec = spec;
    const fs::path file = out / "int_model_fuzz" / ("small_lenet_w" + std::to_string(bits) + ".safetensors");
    fs::create_directories(file.parent_path());
    quant::save_int_model(file.string(), *int_model);
    if (bits == 8) fs::copy_file(file, out / "safetensors_fuzz" / file.filename(), fs::copy_options::overwrite_existing);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: make_seeds MNIST_DIR OUT_DIR CIFAR_JPG...\n";
    return 2;
  }
  try {
    const fs::path out = argv[2];
    const data::MNIST mnist(argv[1], data::Split::Test);
    write(out / "idx_fuzz" / "mnist_3.idx", idx_seed(mnist, 3, false));
    write(out / "idx_fuzz" / "mnist_2_gz.idx", idx_seed(mnist, 2, true));
    for (size_t i = 0; i < 2; ++i)
      write(out / "image_fuzz" / ("mnist_" + std::to_string(i) + ".png"), png(mnist.get(i).pixels, 28, 28, 1));
    model_seeds(mnist, out);

    Bytes batch;
    for (int a = 3; a < argc; ++a) {
      const Bytes jpg = read(argv[a]);
      const std::string name = fs::path(argv[a]).parent_path().filename().string() + "_" + fs::path(argv[a]).stem().string();
      write(out / "image_fuzz" / (name + ".jpg"), jpg);
      const data::DecodedImage d = data::decode_image(jpg.data(), jpg.size());
      if (!d.pixels || d.shape != data::ImageShape{3, 32, 32})
        throw std::runtime_error(std::string("make_seeds: ") + argv[a] + " is not a 32x32 RGB JPEG: " + d.error);
      write(out / "image_fuzz" / (name + ".png"), png(d.pixels.get(), 32, 32, 3));
      batch.push_back(static_cast<uint8_t>((a - 3) % 10));  // the record's label; the pixels are real
      for (int c = 0; c < 3; ++c)
        for (int p = 0; p < 32 * 32; ++p) batch.push_back(d.pixels.get()[p * 3 + c]);
      if (a - 3 < 2) write(out / "cifar_fuzz" / ("batch_" + std::to_string(a - 2) + ".bin"), batch);
    }
    write(out / "cifar_fuzz" / "batch_all.bin", batch);
    std::cout << "make_seeds: wrote seeds to " << out.string() << "\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
