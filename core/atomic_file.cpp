#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace qgrad {

void write_file_atomically(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmp = (dir / target.filename()).string() + ".tmpXXXXXX";
  int fd = mkstemp(tmp.data());
  check(fd >= 0, "write_file_atomically", "cannot create a temporary file next to '", path,
        "': ", std::strerror(errno));
  auto abandon = [&](const char* what) {
    int err = errno;
    ::close(fd);
    std::remove(tmp.c_str());
    fail("write_file_atomically", what, " '", path, "': ", std::strerror(err));
  };
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) abandon("cannot write");
    done += static_cast<size_t>(n);
  }
  // mkstemp creates the file 0600; give it the usual permissions of a new file.
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) abandon("cannot flush");
  if (::close(fd) != 0) {
    std::remove(tmp.c_str());
    fail("write_file_atomically", "cannot close '", path, "': ", std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    fail("write_file_atomically", "cannot rename the temporary file onto '", path, "': ", std::strerror(err));
  }
}

}  // namespace qgrad
