#include "core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace qgrad {

namespace {

namespace fs = std::filesystem;

// "<name>.tmp-<pid>-": the start of every temporary this process makes for target `name`.
std::string temporary_prefix(const std::string& name, long pid) { return name + ".tmp-" + std::to_string(pid) + "-"; }

// The pid in `file` when it is exactly "<name>.tmp-<pid>-XXXXXX" (XXXXXX: the six letters or
// digits mkstemp substitutes); -1 otherwise, so no other file is ever taken for a temporary.
long temporary_pid(const std::string& file, const std::string& name) {
  const std::string head = name + ".tmp-";
  if (file.size() < head.size() + 2 + 6 || file.compare(0, head.size(), head) != 0) return -1;
  const std::string rest = file.substr(head.size());
  const size_t dash = rest.find('-');
  if (dash == 0 || dash == std::string::npos || dash > 9 || rest.size() - dash - 1 != 6) return -1;
  for (size_t i = 0; i < dash; ++i)
    if (!std::isdigit(static_cast<unsigned char>(rest[i]))) return -1;
  for (size_t i = dash + 1; i < rest.size(); ++i)
    if (!std::isalnum(static_cast<unsigned char>(rest[i]))) return -1;
  return std::stol(rest.substr(0, dash));
}

// Removes the temporaries of earlier writes of this target that were killed before their rename.
// A file is such a leftover only when all of these hold, so a write in progress is never touched:
//   - its name is exactly "<target>.tmp-<pid>-XXXXXX" (no other file of the directory, and no
//     other target's temporary, can match);
//   - <pid> is not this process (another thread may be writing the same target) and no process
//     with that pid exists on this machine (kill(pid, 0) fails with ESRCH; EPERM means it lives);
//   - it has not been written to for a minute: the pid only speaks for this machine, and a
//     directory shared over a network file system may hold a live writer's temporary from
//     another machine whose pid happens to be free here. A checkpoint's bytes are written in one
//     loop from memory, so a live writer is never a minute without writing.
// Best effort: a leftover that cannot be removed (permissions, a race with another cleaner) is
// left alone, since the write itself does not depend on it.
void remove_stale_temporaries(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    const long pid = temporary_pid(file, name);
    if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code fec;
    if (!fs::is_regular_file(fs::symlink_status(it->path(), fec))) continue;
    const auto written = fs::last_write_time(it->path(), fec);
    if (fec || now - written < std::chrono::minutes(1)) continue;
    fs::remove(it->path(), fec);
  }
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string name = target.filename().string();
  remove_stale_temporaries(dir, name);
  std::string tmp = (dir / temporary_prefix(name, static_cast<long>(::getpid()))).string() + "XXXXXX";
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
