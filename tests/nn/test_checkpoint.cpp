// Checkpoints: model + optimizer + training position in one safetensors file; resuming from
// one continues training exactly as if it had never stopped. The file's per-tensor CRC-32s catch
// a flipped bit; NaN/infinite weights are refused; files written before checksums existed load
// with a note; the step count recorded is the optimizer's.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>

#include "nn_test_util.h"

using namespace qgrad;
using testing::ScaleModule;
using testing::TempDir;

namespace {

std::shared_ptr<nn::Sequential> make_model() {
  return std::make_shared<nn::Sequential>(nn::BatchNorm1d({.features = 3}), nn::Tanh(),
                                          std::make_shared<ScaleModule>(3));
}

// A few steps of regression towards a fixed target, with batches drawn from `gen`.
void train(nn::Module& model, optim::Optimizer& opt, Generator& gen, int steps) {
  const Tensor target = from_vector<float>({0.5f, -1.f, 2.f}, {1, 3});
  for (int s = 0; s < steps; ++s) {
    Tensor x = randn({8, 3}, gen);
    Tensor loss = mse_loss(model(x), target.expand({8, 3}));
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Byte position in the file of element `index` of tensor `name`, read from the header.
size_t element_offset(const std::string& bytes, const std::string& name, size_t index, size_t elem_size) {
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
  const auto header = nlohmann::json::parse(bytes.substr(8, header_len));
  return 8 + header_len + header.at(name).at("data_offsets")[0].get<size_t>() + index * elem_size;
}

// What `run` printed on stderr (fd 2 pointed at a file meanwhile).
template <class F>
std::string stderr_of(const std::string& file, F run) {
  std::fflush(stderr);
  const int saved = dup(2);
  FILE* f = std::fopen(file.c_str(), "w");
  dup2(fileno(f), 2);
  run();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::fclose(f);
  return read_bytes(file);
}

}  // namespace

TEST_CASE("checkpoint: resume reproduces uninterrupted training exactly", "[nn]") {
  TempDir dir;
  const std::string path = dir / "run.safetensors";

  auto straight = make_model();
  optim::Adam opt_straight(straight->parameters(), {.lr = 0.05f});
  Generator gen_straight(5);
  train(*straight, opt_straight, gen_straight, 6);

  auto first = make_model();
  optim::Adam opt_first(first->parameters(), {.lr = 0.05f});
  Generator gen(5);
  train(*first, opt_first, gen, 3);
  nn::save_checkpoint(path, *first, &opt_first, {.epoch = 1, .step = 3}, {{"arch", "toy"}});

  auto resumed = make_model();
  optim::Adam opt_resumed(resumed->parameters(), {.lr = 1.f});
  nn::Checkpoint ck = nn::load_checkpoint(path, *resumed, &opt_resumed);
  CHECK(ck.training.epoch == 1);
  CHECK(ck.training.step == 3);
  CHECK(ck.metadata.at("arch") == "toy");
  CHECK(ck.metadata.at("qgrad.architecture") == first->repr());
  CHECK(opt_resumed.lr() == 0.05f);
  train(*resumed, opt_resumed, gen, 3);

  auto a = straight->state_dict(), b = resumed->state_dict();
  for (const auto& [name, t] : a) {
    INFO(name);
    if (t.dtype() == DType::Float32)
      CHECK(b.at(name).to_vector() == t.to_vector());
    else
      CHECK(b.at(name).to_vector<int32_t>() == t.to_vector<int32_t>());
  }
}

TEST_CASE("checkpoint: file contents, inspection without a model, and errors", "[nn]") {
  TempDir dir;
  const std::string path = dir / "m.safetensors";
  auto model = make_model();
  nn::save_checkpoint(path, *model, nullptr, {.epoch = 7});

  // The model tensors are stored under their own names: a plain weights file.
  nn::SafeTensors raw = nn::load_safetensors(path);
  CHECK(raw.tensors.count("0.weight") == 1);
  CHECK(raw.tensors.count("2.inner.scale") == 1);
  CHECK(raw.metadata.at("qgrad.epoch") == "7");

  nn::Checkpoint ck = nn::read_checkpoint(path);
  CHECK(ck.optimizer.empty());
  CHECK(ck.model.size() == model->state_dict().size());

  optim::SGD sgd(model->parameters(), {.lr = 0.1f});
  CHECK_THROWS_WITH(nn::load_checkpoint(path, *model, &sgd),
                    Catch::Contains(path) && Catch::Contains("holds no optimizer state"));

  auto other = std::make_shared<nn::Sequential>(nn::BatchNorm1d({.features = 4}));
  CHECK_THROWS_WITH(nn::load_checkpoint(path, *other),
                    Catch::Contains("tensor '0.weight' has shape [3] but the destination expects [4]"));

  CHECK_THROWS_WITH(nn::save_checkpoint(path, *model, nullptr, {}, {{"qgrad.epoch", "1"}}),
                    Catch::Contains("metadata key 'qgrad.epoch' uses the reserved prefix 'qgrad.'"));

  const std::string plain = dir / "plain.safetensors";
  nn::save_safetensors(plain, model->state_dict());
  CHECK_THROWS_WITH(nn::read_checkpoint(plain),
                    Catch::Contains("not a qgrad checkpoint (metadata 'qgrad.format' is missing"));
}

TEST_CASE("checkpoint: a flipped bit in any tensor is an error naming it (CRC-32 per tensor)", "[nn]") {
  TempDir dir;
  const std::string path = dir / "m.safetensors";
  auto model = make_model();
  optim::Adam opt(model->parameters(), {.lr = 0.05f});
  Generator gen(3);
  train(*model, opt, gen, 2);
  nn::save_checkpoint(path, *model, &opt, {.epoch = 1});
  // The checksums sit in the metadata: the file stays plain safetensors.
  const nn::SafeTensors raw = nn::load_safetensors(path);
  CHECK(raw.metadata.at("qgrad.crc32") == nn::tensor_checksums(raw.tensors));
  REQUIRE_NOTHROW(nn::read_checkpoint(path));

  const std::string good = read_bytes(path);
  for (const auto& [name, elem] : {std::pair{std::string("2.scale"), size_t{4}},
                                   std::pair{std::string("optimizer.0.exp_avg"), size_t{4}},
                                   std::pair{std::string("optimizer.0.step"), size_t{4}}}) {
    if (!raw.tensors.count(name)) continue;
    INFO(name);
    std::string bad = good;
    bad[element_offset(good, name, 0, elem)] ^= 0x01;  // lowest mantissa bit: still a finite float
    write_bytes(path, bad);
    CHECK_THROWS_WITH(nn::read_checkpoint(path),
                      Catch::Contains(path) && Catch::Contains("tensor '" + name + "' is corrupted: CRC-32"));
    CHECK_THROWS_WITH(nn::load_checkpoint(path, *make_model()), Catch::Contains("is corrupted: CRC-32"));
  }
}

TEST_CASE("checkpoint: a file without checksums (older qgrad) loads, with a note on stderr", "[nn]") {
  TempDir dir;
  const std::string path = dir / "old.safetensors";
  auto model = make_model();
  nn::save_checkpoint(path, *model, nullptr, {.epoch = 2});
  nn::SafeTensors file = nn::load_safetensors(path);
  file.metadata.erase("qgrad.crc32");
  nn::save_safetensors(path, file.tensors, file.metadata);

  auto loaded = make_model();
  nn::Checkpoint ck;
  const std::string note = stderr_of(dir / "stderr.txt", [&] { ck = nn::load_checkpoint(path, *loaded); });
  CHECK(ck.training.epoch == 2);
  CHECK(loaded->state_dict().at("2.scale").to_vector() == model->state_dict().at("2.scale").to_vector());
  CHECK_THAT(note, Catch::Contains(path) && Catch::Contains("carries no checksums"));
  CHECK(std::count(note.begin(), note.end(), '\n') == 1);
  // With checksums, nothing is printed.
  nn::save_checkpoint(path, *model, nullptr, {.epoch = 2});
  CHECK(stderr_of(dir / "stderr.txt", [&] { nn::read_checkpoint(path); }).empty());
}

TEST_CASE("checkpoint: NaN or infinite weights are refused, naming the tensor", "[nn]") {
  TempDir dir;
  const std::string path = dir / "diverged.safetensors";
  for (float v : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    INFO(v);
    auto model = make_model();
    nn::StateDict sd = model->state_dict();
    sd.at("2.inner.scale").data<float>()[1] = v;  // the state dict shares the parameter's storage
    nn::save_checkpoint(path, *model, nullptr, {.epoch = 1});
    CHECK_THROWS_WITH(nn::read_checkpoint(path),
                      Catch::Contains(path) && Catch::Contains("tensor '2.inner.scale' holds a non-finite value") &&
                          Catch::Contains("at flat index 1"));
    CHECK_THROWS_WITH(nn::load_checkpoint(path, *make_model()), Catch::Contains("non-finite value"));
  }
  // Optimizer state too: a NaN moment would make the next step NaN.
  auto model = make_model();
  optim::Adam opt(model->parameters(), {.lr = 0.05f});
  Generator gen(3);
  train(*model, opt, gen, 1);
  opt.state_dict().at("1.exp_avg_sq").data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  nn::save_checkpoint(path, *model, &opt, {.epoch = 1});
  CHECK_THROWS_WITH(nn::read_checkpoint(path), Catch::Contains("tensor 'optimizer.1.exp_avg_sq' holds a non-finite"));
}

TEST_CASE("checkpoint: the step recorded is the optimizer's step count unless the caller gives one", "[nn]") {
  TempDir dir;
  const std::string path = dir / "steps.safetensors";
  auto model = make_model();
  optim::SGD opt(model->parameters(), {.lr = 0.01f, .momentum = 0.9f});
  CHECK(opt.steps() == 0);
  Generator gen(4);
  train(*model, opt, gen, 5);
  CHECK(opt.steps() == 5);
  nn::save_checkpoint(path, *model, &opt, {.epoch = 1});
  CHECK(nn::read_checkpoint(path).training.step == 5);

  // The count survives a resume and keeps counting.
  auto resumed = make_model();
  optim::SGD opt2(resumed->parameters(), {.lr = 0.01f, .momentum = 0.9f});
  nn::load_checkpoint(path, *resumed, &opt2);
  CHECK(opt2.steps() == 5);
  train(*resumed, opt2, gen, 2);
  nn::save_checkpoint(path, *resumed, &opt2, {.epoch = 2});
  CHECK(nn::read_checkpoint(path).training.step == 7);

  nn::save_checkpoint(path, *resumed, &opt2, {.epoch = 2, .step = 123});
  CHECK(nn::read_checkpoint(path).training.step == 123);
  nn::save_checkpoint(path, *resumed, nullptr, {.epoch = 2});
  CHECK(nn::read_checkpoint(path).training.step == 0);
}
