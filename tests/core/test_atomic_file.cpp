#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

using Catch::Contains;
namespace fs = std::filesystem;

namespace {
std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("write_file_atomically replaces the file and leaves no temporary behind", "[core]") {
  fs::path dir = fs::temp_directory_path() / "qgrad_atomic_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path target = dir / "out.bin";
  std::string first("first\0with a zero byte", 22);
  qgrad::write_file_atomically(target.string(), first);
  CHECK(read_all(target) == first);
  qgrad::write_file_atomically(target.string(), "second");
  CHECK(read_all(target) == "second");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  CHECK(entries == 1);
  CHECK_THROWS_WITH(qgrad::write_file_atomically((dir / "missing" / "x.bin").string(), "x"),
                    Contains("cannot create a temporary file next to"));
  fs::remove_all(dir);
}
