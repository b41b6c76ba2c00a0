// safetensors: bit-exact round trip for every dtype, the on-disk layout, atomic replacement,
// and each kind of corrupt file rejected with a message naming the file, tensor and problem.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "nn_test_util.h"

using namespace qgrad;
using testing::TempDir;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

// A file from its parts, written independently of save_safetensors.
std::string file_of(const std::string& header, const std::string& data) {
  return u64_le(header.size()) + header + data;
}

template <class T>
std::string raw(const Tensor& t) {
  auto v = t.to_vector<T>();
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

nn::StateDict sample_tensors() {
  const float inf = std::numeric_limits<float>::infinity();
  nn::StateDict sd;
  sd["f32"] = from_vector<float>({1.5f, -0.f, inf, -inf, 1e-40f, 3.14159265f}, {2, 3});
  sd["i32"] = from_vector<int32_t>({std::numeric_limits<int32_t>::min(), -1, 0, 2147483647}, {4});
  sd["i8"] = from_vector<int8_t>({-128, -1, 0, 127}, {2, 2});
  sd["u8"] = from_vector<uint8_t>({0, 1, 128, 254, 255}, {5});
  sd["scalar"] = scalar_tensor(-2.5f);
  sd["empty"] = zeros({0, 3});
  // A transposed view is saved in its logical (row-major) order.
  sd["view.t"] = arange(0.f, 6.f).reshape({2, 3}).t();
  return sd;
}

}  // namespace

TEST_CASE("safetensors: every dtype round-trips bit-exactly, with metadata", "[nn]") {
  TempDir dir;
  const std::string path = dir / "model.safetensors";
  nn::StateDict sd = sample_tensors();
  nn::save_safetensors(path, sd, {{"arch", "mlp"}, {"hidden", "128"}});
  nn::SafeTensors loaded = nn::load_safetensors(path);
  CHECK(loaded.metadata == nn::Metadata{{"arch", "mlp"}, {"hidden", "128"}});
  REQUIRE(loaded.tensors.size() == sd.size());
  for (const auto& [name, t] : sd) {
    INFO(name);
    const Tensor& u = loaded.tensors.at(name);
    CHECK(u.shape() == t.shape());
    REQUIRE(u.dtype() == t.dtype());
    switch (t.dtype()) {
      case DType::Float32: CHECK(raw<float>(u) == raw<float>(t)); break;
      case DType::Int32: CHECK(raw<int32_t>(u) == raw<int32_t>(t)); break;
      case DType::Int8: CHECK(raw<int8_t>(u) == raw<int8_t>(t)); break;
      case DType::UInt8: CHECK(raw<uint8_t>(u) == raw<uint8_t>(t)); break;
    }
  }
  // Saving the same state again gives the same bytes (sorted names, fixed layout).
  const std::string first = read_bytes(path);
  nn::save_safetensors(path, sd, {{"hidden", "128"}, {"arch", "mlp"}});
  CHECK(read_bytes(path) == first);
}

TEST_CASE("safetensors: the file layout is the documented one", "[nn]") {
  TempDir dir;
  const std::string path = dir / "layout.safetensors";
  nn::save_safetensors(path, {{"b", from_vector<int8_t>({-3, 4, 5}, {3})},
                              {"a", from_vector<float>({1.f, 2.f}, {1, 2})}});
  const std::string bytes = read_bytes(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  CHECK(n % 8 == 0);  // padded so the data section is aligned
  REQUIRE(bytes.size() == 8 + n + 8 + 3);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(header["a"]["dtype"] == "F32");
  CHECK(header["a"]["shape"] == nlohmann::json({1, 2}));
  CHECK(header["a"]["data_offsets"] == nlohmann::json({0, 8}));
  CHECK(header["b"]["dtype"] == "I8");
  CHECK(header["b"]["data_offsets"] == nlohmann::json({8, 11}));
  CHECK_FALSE(header.contains("__metadata__"));
  const float two = 2.f;
  CHECK(std::memcmp(bytes.data() + 8 + n + 4, &two, 4) == 0);  // little-endian float32
  CHECK(bytes.substr(8 + n + 8) == std::string("\xfd\x04\x05", 3));
}

TEST_CASE("safetensors: writes are atomic and replace the old file", "[nn]") {
  TempDir dir;
  const std::string path = dir / "ck.safetensors";
  nn::save_safetensors(path, {{"w", full({3}, 1.f)}});
  nn::save_safetensors(path, {{"w", full({4}, 2.f)}, {"v", full({1}, 3.f)}});
  auto loaded = nn::load_safetensors(path);
  CHECK(loaded.tensors.at("w").to_vector() == std::vector<float>{2, 2, 2, 2});
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.str())) {
    INFO(entry.path().string());
    CHECK(entry.path().filename() == "ck.safetensors");  // no temporary left behind
    ++files;
  }
  CHECK(files == 1);
  // A directory that does not exist: an error naming the path; nothing is created.
  const std::string bad = dir / "missing/ck.safetensors";
  CHECK_THROWS_WITH(nn::save_safetensors(bad, {{"w", ones({1})}}), Catch::Contains(bad));
  CHECK_THROWS_WITH(nn::save_safetensors(path, {{"__metadata__", ones({1})}}),
                    Catch::Contains("tensor name '__metadata__' is not allowed"));
  CHECK_THROWS_WITH(nn::save_safetensors(path, {{"u", Tensor()}}),
                    Catch::Contains("tensor 'u' is undefined"));
}

TEST_CASE("safetensors: corrupt files are rejected with a precise message", "[nn]") {
  TempDir dir;
  const std::string path = dir / "bad.safetensors";
  const std::string good_header =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}})";
  const std::string data(11, '\x01');
  auto rejects = [&](const std::string& bytes, const std::string& message) {
    write_bytes(path, bytes);
    INFO("expected: " << message);
    CHECK_THROWS_WITH(nn::load_safetensors(path),
                      Catch::Contains("load_safetensors") && Catch::Contains(path) &&
                          Catch::Contains(message));
  };
  // The hand-built file itself is valid.
  write_bytes(path, file_of(good_header, data));
  CHECK(nn::load_safetensors(path).tensors.at("b").to_vector<uint8_t>() == std::vector<uint8_t>{1, 1, 1});

  SECTION("truncated") {
    rejects(file_of(good_header, data).substr(0, 5), "file is 5 bytes, shorter than the 8-byte header length");
    rejects(file_of(good_header, data).substr(0, 8 + good_header.size() + 9),
            "tensor 'b': data_offsets [8, 11] reach past the data section (9 bytes)");
  }
  SECTION("header length beyond the file") {
    std::string bytes = file_of(good_header, data);
    bytes.replace(0, 8, u64_le(uint64_t(1) << 40));
    rejects(bytes, "header length 1099511627776 runs past the end of the file");
  }
  SECTION("invalid JSON") {
    std::string header = good_header;
    header[0] = '#';
    rejects(file_of(header, data), "header is not valid JSON");
    rejects(file_of("[1, 2]", ""), "the header must be a JSON object, got array");
  }
  SECTION("bad dtype, shape or entry") {
    rejects(file_of(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", std::string(4, 0)),
            "tensor 'a': unknown dtype 'F16'");
    rejects(file_of(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", std::string(8, 0)),
            "tensor 'a': missing string 'dtype'");
    rejects(file_of(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, 0)),
            "tensor 'a': shape entries must be non-negative 64-bit integers, got -2");
    rejects(file_of(R"({"a":7})", ""), "tensor 'a': entry must be an object, got number");
    rejects(file_of(R"({"__metadata__":{"k":3}})", ""), "__metadata__ entry 'k' is not a string");
  }
  SECTION("bad offsets") {
    rejects(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}})", std::string(8, 0)),
            "tensor 'a': data_offsets [0, 12] reach past the data section (8 bytes)");
    rejects(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", std::string(4, 0)),
            "tensor 'a': data_offsets [0, 4] hold 4 bytes but shape [2] F32 needs 8");
    rejects(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::string(8, 0)),
            "tensor 'a': data_offsets [8, 0] are reversed");
    rejects(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", std::string(8, 0)),
            "tensor 'a': 'data_offsets' must be two non-negative integers");
    rejects(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}})", std::string(8, 0)),
            "data_offsets [4, 8] overlap tensor 'a'");
    rejects(file_of(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", std::string(4, 0)),
            "bytes [0, 2) of the data section belong to no tensor (before tensor 'a')");
    rejects(file_of(R"({"a":{"dtype":"U8","shape":[4611686018427387904, 4],"data_offsets":[0,4]}})",
                    std::string(4, 0)),
            "tensor 'a': data_offsets [0, 4] hold 4 bytes but shape");
  }
  SECTION("total size mismatch") {
    rejects(file_of(good_header, data + "xyz"),
            "size mismatch: the tensors cover 11 bytes but the data section holds 14");
  }
  SECTION("missing file") {
    CHECK_THROWS_WITH(nn::load_safetensors(dir / "nope.safetensors"),
                      Catch::Contains("nope.safetensors: cannot open the file"));
  }
}
