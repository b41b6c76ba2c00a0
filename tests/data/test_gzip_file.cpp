// read_file: plain and gzipped files give the same bytes; missing paths and folders are errors
// naming the path.
#include <catch2/catch.hpp>

#include "data/data_files.h"
#include "datasets/gzip_file.h"

using namespace qgrad;
using qgrad::testing::TempDir;

TEST_CASE("read_file: plain and gzipped files read back the same bytes", "[data]") {
  TempDir dir;
  std::vector<uint8_t> bytes(3 << 20);  // over the 1 MiB read chunk, so several reads are joined
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>((i * 131 + i / 7) % 256);
  testing::write_bytes(dir / "plain.bin", bytes);
  testing::write_gzip(dir / "packed.bin.gz", bytes);
  CHECK(data::read_file(dir / "plain.bin") == bytes);
  CHECK(data::read_file(dir / "packed.bin.gz") == bytes);
  testing::write_bytes(dir / "empty.bin", {});
  CHECK(data::read_file(dir / "empty.bin").empty());
}

TEST_CASE("read_file: missing files and folders are rejected naming the path", "[data]") {
  TempDir dir;
  CHECK_THROWS_WITH(data::read_file(dir / "nothing.gz"), Catch::Contains(dir / "nothing.gz: no such file"));
  CHECK_THROWS_WITH(data::read_file(dir.str()), Catch::Contains(dir.str() + ": not a regular file"));
}
