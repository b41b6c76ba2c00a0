// Writes a whole file so that a crash never leaves it half-written: the bytes go to a temporary
// file in the same directory, are flushed, and the temporary is renamed over the target
// (rename within one file system is atomic on POSIX). Used for checkpoints and metrics.
//
// The temporary is named "<target>.tmp-<pid>-XXXXXX" (pid = the writing process, XXXXXX
// chosen by mkstemp). A process killed mid-write leaves its temporary behind; the next write of
// the same target removes such leftovers (see remove_stale_temporaries in atomic_file.cpp for
// which files count as leftovers).
#pragma once
#include <string>
#include <string_view>

namespace qgrad {

void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace qgrad
