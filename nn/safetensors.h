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

}  // namespace qgrad::nn
