// Reads a whole file into memory, gunzipping it on the way when it is gzip-compressed.
// zlib's gz* reader detects the gzip header itself and passes other files through unchanged,
// so MNIST's .gz downloads and their unpacked copies load through the same call.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace qgrad::data {

// The (decompressed) bytes of the file at path. Fails with a qgrad::Error naming the file and
// the reason (missing, not a regular file, corrupt or truncated gzip stream).
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace qgrad::data
