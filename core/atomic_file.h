// Writes a whole file so that a crash never leaves it half-written: the bytes go to a temporary
// file in the same directory, are flushed, and the temporary is renamed over the target
// (rename within one file system is atomic on POSIX). Used for checkpoints and metrics.
#pragma once
#include <string>
#include <string_view>

namespace qgrad {

void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace qgrad
