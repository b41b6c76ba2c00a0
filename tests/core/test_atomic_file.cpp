#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
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

TEST_CASE("write_file_atomically removes the temporaries a killed write left, and nothing else", "[core]") {
  fs::path dir = fs::temp_directory_path() / "qgrad_atomic_stale_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  // A pid that no process has: a child that has exited and been reaped.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  REQUIRE(child > 0);
  REQUIRE(waitpid(child, nullptr, 0) == child);
  const std::string dead = std::to_string(child), alive = std::to_string(getppid());
  auto make = [&](const std::string& name, bool old) {
    std::ofstream(dir / name) << "partial";
    if (old) fs::last_write_time(dir / name, fs::file_time_type::clock::now() - std::chrono::minutes(5));
  };
  make("model.safetensors", false);
  make("model.safetensors.tmp-" + dead + "-aB3xYz", true);       // the leftover: removed
  make("model.safetensors.tmp-" + dead + "-fresh1", false);      // written just now (another host?)
  make("model.safetensors.tmp-" + alive + "-Qw7eR2", true);      // its writer still runs
  make("other.safetensors.tmp-" + dead + "-aB3xYz", true);       // another target's
  make("model.safetensors.tmp-" + dead + "-aB3xYz.bak", true);   // not the pattern
  make("model.safetensors.tmp-" + dead + "-aB3x", true);         // not the pattern
  make("model.safetensors.tmpaB3xYz", true);                     // not the pattern
  qgrad::write_file_atomically((dir / "model.safetensors").string(), "new");
  CHECK(read_all(dir / "model.safetensors") == "new");
  CHECK_FALSE(fs::exists(dir / ("model.safetensors.tmp-" + dead + "-aB3xYz")));
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(dir)) left.insert(e.path().filename().string());
  CHECK(left == std::set<std::string>{"model.safetensors", "model.safetensors.tmp-" + dead + "-fresh1",
                                      "model.safetensors.tmp-" + alive + "-Qw7eR2",
                                      "other.safetensors.tmp-" + dead + "-aB3xYz",
                                      "model.safetensors.tmp-" + dead + "-aB3xYz.bak",
                                      "model.safetensors.tmp-" + dead + "-aB3x", "model.safetensors.tmpaB3xYz"});
  fs::remove_all(dir);
}
