// Shared by the fuzz targets: the loaders under test read files, so each input is written to a
// scratch folder of this process (under $TMPDIR, removed at exit) and loaded from there.
// A qgrad::Error is the loaders' documented answer to a bad file; anything else that escapes
// (another exception, a crash, a sanitizer report, a hang) is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace qgrad::fuzz {

// The scratch folder, created on first use.
const std::string& scratch_dir();

// Writes size bytes to scratch_dir()/relative (creating its parent folders); returns the path.
std::string write_scratch(const std::string& relative, const uint8_t* data, size_t size);

}  // namespace qgrad::fuzz
