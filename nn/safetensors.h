// The safetensors container (https://github.com/huggingface/safetensors), read and written:
//
//   [8 bytes]  N, the header length, unsigned little-endian
//   [N bytes]  JSON: {"<name>": {"dtype": "F32"|"I32"|"I8"|"U8", "shape": [d0, ...],
//                                "data_offsets": [begin, end]}, ...,
//                     "__metadata__": {"<key>": "<string value>", ...}}
//              padded with spaces to a multiple of 8 so the data starts aligned
//   [rest]     the tensors' raw little-endian bytes; offsets are relative to the start of this
//              section, and the tensors tile it exactly (no gaps, no overlaps)
//
// A file written here opens with safetensors.numpy.load_file / safetensors.torch.load_file.
//
// Checksums: qgrad's own files (checkpoints, integer models) record a CRC-32 per tensor in the
// metadata, so they stay standard safetensors and a flipped bit in the data is still caught:
//   "qgrad.crc32" = one "name crc" line per tensor, crc = zlib's CRC-32 of the tensor's bytes as
//                   stored (little-endian), 8 lowercase hex digits
#pragma once
#include <map>
#include <string>

#include "nn/state_dict.h"

namespace qgrad::nn {

using Metadata = std::map<std::string, std::string>;

struct SafeTensors {
  StateDict tensors;
  Metadata metadata;
};

// Writes atomically (core/atomic_file.h): a crash leaves the old file or the new one, never
// half of one.
void save_safetensors(const std::string& path, const StateDict& tensors,
                      const Metadata& metadata = {});

// Reads and validates the whole file; every problem (truncation, bad header length, invalid
// JSON, unknown dtype, bad shape, offsets out of range/overlapping/mismatched, size mismatch)
// is a qgrad::Error naming the file, the tensor and what is wrong.
SafeTensors load_safetensors(const std::string& path);

inline constexpr const char* kChecksumKey = "qgrad.crc32";

// The "qgrad.crc32" value for tensors (the lines above).
std::string tensor_checksums(const StateDict& tensors);

// Checks every tensor of file against its "qgrad.crc32" lines: a mismatch ("tensor 'fc.weight'
// is corrupted: CRC-32 ..."), a tensor without a line or a line without a tensor is a
// qgrad::Error from op naming path and the tensor. Returns false, checking nothing, when the
// metadata has no "qgrad.crc32" (a file from elsewhere, or written before checksums existed);
// the caller decides whether that is allowed.
bool verify_tensor_checksums(const SafeTensors& file, const char* op, const std::string& path);

// Index of the first NaN or infinite element of t (in row-major order), or -1 when every
// element is finite or t is not float32. Loaders use it to refuse diverged weights.
int64_t first_non_finite(const Tensor& t);

}  // namespace qgrad::nn
