#include "nn/safetensors.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include <zlib.h>

#include "core/atomic_file.h"

namespace qgrad::nn {

namespace {

using nlohmann::json;

constexpr const char* kMetadataKey = "__metadata__";

const char* dtype_code(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Int32: return "I32";
    case DType::Int8: return "I8";
    case DType::UInt8: return "U8";
  }
  return "?";
}

bool parse_dtype(const std::string& code, DType& out) {
  for (DType t : {DType::Float32, DType::Int32, DType::Int8, DType::UInt8}) {
    if (code == dtype_code(t)) {
      out = t;
      return true;
    }
  }
  return false;
}

// The file format is little-endian; on a big-endian host each element's bytes are reversed.
void swap_to_little_endian(unsigned char* bytes, size_t nbytes, size_t elem_size) {
  if constexpr (std::endian::native == std::endian::big) {
    for (size_t i = 0; i + elem_size <= nbytes; i += elem_size)
      std::reverse(bytes + i, bytes + i + elem_size);
  } else {
    (void)bytes, (void)nbytes, (void)elem_size;
  }
}

void put_u64_le(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// CRC-32 of a tensor's bytes as the file stores them (little-endian).
uint32_t tensor_crc(const Tensor& t) {
  const Tensor c = t.detach().to(Device::CPU).contiguous();  // the bytes are read on the host
  const size_t elem = dtype_size(c.dtype()), n = static_cast<size_t>(c.numel()) * elem;
  const auto* raw = static_cast<const unsigned char*>(c.raw_data());
  std::vector<unsigned char> swapped;
  if constexpr (std::endian::native == std::endian::big) {
    swapped.assign(raw, raw + n);
    swap_to_little_endian(swapped.data(), n, elem);
    raw = swapped.data();
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t done = 0; done < n;) {  // zlib takes uInt lengths
    const auto chunk = static_cast<uInt>(std::min<size_t>(n - done, 1u << 30));
    crc = crc32(crc, raw + done, chunk);
    done += chunk;
  }
  return static_cast<uint32_t>(crc);
}

std::string hex32(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

}  // namespace

void save_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata) {
  json header = json::object();
  std::vector<Tensor> compact;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    check(!name.empty() && name != kMetadataKey, "save_safetensors", path, ": tensor name '", name,
          "' is not allowed");
    check(t.defined(), "save_safetensors", path, ": tensor '", name, "' is undefined");
    // A device tensor is copied to the host: the file is the same whichever device saved it.
    compact.push_back(t.detach().to(Device::CPU).contiguous());
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    header[name] = {{"dtype", dtype_code(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  if (!metadata.empty()) header[kMetadataKey] = metadata;

  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string bytes;
  bytes.reserve(8 + text.size() + offset);
  put_u64_le(bytes, text.size());
  bytes += text;
  for (const Tensor& t : compact) {
    const size_t start = bytes.size();
    const size_t nbytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
    bytes.append(static_cast<const char*>(t.raw_data()), nbytes);
    swap_to_little_endian(reinterpret_cast<unsigned char*>(bytes.data() + start), nbytes,
                          dtype_size(t.dtype()));
  }
  write_file_atomically(path, bytes);
}

SafeTensors load_safetensors(const std::string& path) {
  const char* op = "load_safetensors";
  std::ifstream in(path, std::ios::binary);
  check(in.good(), op, path, ": cannot open the file");
  std::vector<unsigned char> file((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  check(!in.bad(), op, path, ": read error");
  const uint64_t size = file.size();
  check(size >= 8, op, path, ": file is ", size,
        " bytes, shorter than the 8-byte header length field (truncated?)");
  const uint64_t header_len = get_u64_le(file.data());
  check(header_len <= size - 8, op, path, ": header length ", header_len,
        " runs past the end of the file (", size, " bytes; truncated or corrupt?)");
  const char* header_begin = reinterpret_cast<const char*>(file.data()) + 8;
  json header = json::parse(header_begin, header_begin + header_len, nullptr, false);
  check(!header.is_discarded(), op, path, ": the ", header_len,
        "-byte header is not valid JSON");
  check(header.is_object(), op, path, ": the header must be a JSON object, got ",
        header.type_name());

  const uint64_t data_size = size - 8 - header_len;
  const unsigned char* data = file.data() + 8 + header_len;
  SafeTensors out;
  struct Range {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  for (const auto& item : header.items()) {
    // Named references, not a structured binding: the `bad` lambda below captures `name`, which
    // C++20 allows for bindings but clang accepts only from version 16 (the fuzz build's is 14).
    const std::string& name = item.key();
    const json& entry = item.value();
    if (name == kMetadataKey) {
      check(entry.is_object(), op, path, ": __metadata__ must be an object of strings");
      for (const auto& [key, value] : entry.items()) {
        check(value.is_string(), op, path, ": __metadata__ entry '", key, "' is not a string");
        out.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const auto&... what) { fail(op, path, ": tensor '", name, "': ", what...); };
    if (!entry.is_object()) bad("entry must be an object, got ", entry.type_name());
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) bad("missing string 'dtype'");
    DType dtype{};
    const std::string code = entry["dtype"].get<std::string>();
    if (!parse_dtype(code, dtype)) bad("unknown dtype '", code, "' (expected F32, I32, I8 or U8)");
    if (!entry.contains("shape") || !entry["shape"].is_array()) bad("missing array 'shape'");
    Shape shape;
    uint64_t numel = 1;  // saturates instead of overflowing; the size check then fails
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(INT64_MAX))
        bad("shape entries must be non-negative 64-bit integers, got ", d.dump());
      const uint64_t dim = d.get<uint64_t>();
      numel = (dim != 0 && numel > UINT64_MAX / dim) ? UINT64_MAX : numel * dim;
      shape.push_back(static_cast<int64_t>(dim));
    }
    const auto& offsets = entry.contains("data_offsets") ? entry["data_offsets"] : json();
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      bad("'data_offsets' must be two non-negative integers [begin, end]");
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end) bad("data_offsets [", begin, ", ", end, "] are reversed");
    if (end > data_size)
      bad("data_offsets [", begin, ", ", end, "] reach past the data section (", data_size,
          " bytes)");
    const uint64_t elem = dtype_size(dtype);
    const uint64_t need = numel > UINT64_MAX / elem ? UINT64_MAX : numel * elem;
    if (end - begin != need)
      bad("data_offsets [", begin, ", ", end, "] hold ", end - begin, " bytes but shape ",
          shape_str(shape), " ", code, " needs ", need);
    Tensor t = empty(shape, dtype);
    std::memcpy(t.raw_data(), data + begin, need);
    swap_to_little_endian(static_cast<unsigned char*>(t.raw_data()), need, dtype_size(dtype));
    out.tensors[name] = t;
    ranges.push_back({begin, end, name});
  }

  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  uint64_t covered = 0;
  std::string previous;
  for (const Range& r : ranges) {
    check(r.begin >= covered, op, path, ": tensor '", r.name, "': data_offsets [", r.begin, ", ",
          r.end, "] overlap tensor '", previous, "'");
    check(r.begin == covered, op, path, ": bytes [", covered, ", ", r.begin,
          ") of the data section belong to no tensor (before tensor '", r.name, "')");
    covered = r.end;
    previous = r.name;
  }
  check(covered == data_size, op, path, ": size mismatch: the tensors cover ", covered,
        " bytes but the data section holds ", data_size, " (file ", size, " bytes)");
  return out;
}

std::string tensor_checksums(const StateDict& tensors) {
  std::string lines;
  for (const auto& [name, t] : tensors) lines += name + " " + hex32(tensor_crc(t)) + "\n";
  return lines;
}

bool verify_tensor_checksums(const SafeTensors& file, const char* op, const std::string& path) {
  auto value = file.metadata.find(kChecksumKey);
  if (value == file.metadata.end()) return false;
  std::map<std::string, std::string> listed;
  std::stringstream ss(value->second);
  for (std::string line; std::getline(ss, line);) {
    const size_t sp = line.find(' ');
    check(sp != std::string::npos, op, path, ": metadata '", kChecksumKey, "' line '", line, "' is not 'name crc'");
    listed[line.substr(0, sp)] = line.substr(sp + 1);
  }
  for (const auto& [name, t] : file.tensors) {
    auto it = listed.find(name);
    check(it != listed.end(), op, path, ": tensor '", name, "' has no checksum in '", kChecksumKey, "'");
    const std::string got = hex32(tensor_crc(t));
    check(it->second == got, op, path, ": tensor '", name, "' is corrupted: CRC-32 ", got, ", the file recorded ",
          it->second);
    listed.erase(it);
  }
  check(listed.empty(), op, path, ": tensor '", listed.empty() ? "" : listed.begin()->first,
        "' is missing (it has a checksum in '", kChecksumKey, "')");
  return true;
}

int64_t first_non_finite(const Tensor& t) {
  if (!t.defined() || t.dtype() != DType::Float32) return -1;
  const Tensor c = t.detach().to(Device::CPU).contiguous();  // read on the host
  const float* v = c.data<float>();
  for (int64_t i = 0; i < c.numel(); ++i)
    if (!std::isfinite(v[i])) return i;
  return -1;
}

}  // namespace qgrad::nn
