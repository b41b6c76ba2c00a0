#include "datasets/gzip_file.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/error.h"

namespace qgrad::data {

std::vector<uint8_t> read_file(const std::string& path) {
  std::error_code ec;
  check(std::filesystem::exists(path, ec), "read_file", path, ": no such file");
  check(std::filesystem::is_regular_file(path, ec), "read_file", path, ": not a regular file");
  auto close = [](gzFile f) { gzclose(f); };
  std::unique_ptr<gzFile_s, decltype(close)> file(gzopen(path.c_str(), "rb"), close);
  check(file != nullptr, "read_file", path, ": cannot open: ", std::strerror(errno));
  gzbuffer(file.get(), 1 << 18);

  std::vector<uint8_t> bytes;
  constexpr size_t chunk = 1 << 20;
  int got = 0;
  do {
    const size_t have = bytes.size();
    bytes.resize(have + chunk);
    got = gzread(file.get(), bytes.data() + have, static_cast<unsigned>(chunk));
    bytes.resize(have + static_cast<size_t>(std::max(got, 0)));
  } while (got == static_cast<int>(chunk));
  // A cut-off or damaged stream shows up either as got < 0 or only in gzerror at the end.
  int code = Z_OK;
  const char* why = gzerror(file.get(), &code);
  check(code != Z_ERRNO, "read_file", path, ": read error: ", std::strerror(errno));
  check(got >= 0 && (code == Z_OK || code == Z_STREAM_END), "read_file", path, ": corrupt gzip data: ", why);
  return bytes;
}

}  // namespace qgrad::data
