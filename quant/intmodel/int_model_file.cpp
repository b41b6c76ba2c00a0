#include "quant/intmodel/int_model_file.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "quant/intmodel/int_layer_io.h"
#include "quant/math/packing.h"

namespace qgrad::quant {

namespace {

const char* kOp = kLoadIntModel;
const std::string kReserved = "qgrad.";

// CRC-32 of a tensor's bytes as the file stores them (little-endian).
uint32_t tensor_crc(const Tensor& t) {
  const Tensor c = t.detach().to(Device::CPU).contiguous();  // the bytes are read on the host
  const size_t elem = dtype_size(c.dtype()), n = static_cast<size_t>(c.numel()) * elem;
  std::vector<unsigned char> bytes(static_cast<const unsigned char*>(c.raw_data()),
                                   static_cast<const unsigned char*>(c.raw_data()) + n);
  if constexpr (std::endian::native == std::endian::big)
    for (size_t i = 0; i + elem <= n; i += elem) std::reverse(bytes.begin() + i, bytes.begin() + i + elem);
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t done = 0; done < n;) {  // zlib takes uInt lengths
    const auto chunk = static_cast<uInt>(std::min<size_t>(n - done, 1u << 30));
    crc = crc32(crc, bytes.data() + done, chunk);
    done += chunk;
  }
  return static_cast<uint32_t>(crc);
}

std::string hex32(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

const std::string& meta_value(const nn::Metadata& m, const std::string& key, const std::string& path) {
  auto it = m.find(key);
  check(it != m.end(), kOp, path, ": metadata has no '", key, "'");
  return it->second;
}

int meta_bits(const nn::Metadata& m, const std::string& key, const std::string& path) {
  const std::string& s = meta_value(m, key, path);
  int64_t v = 0;
  check(parse_int(s, v) && v >= 2 && v <= 8, kOp, path, ": metadata '", key, "' = '", s,
        "' is not a bit width in 2..8");
  return static_cast<int>(v);
}

QParams io_qparams(TensorTable& table, const std::string& name, int bits) {
  const auto v = table.take(name, DType::Float32, {2}).to_vector();
  const int32_t qmax = (1 << bits) - 1;
  if (!(std::isfinite(v[0]) && v[0] > 0)) table.bad(name, "scale ", v[0], " is not positive and finite");
  if (!(v[1] >= 0 && v[1] <= static_cast<float>(qmax) && v[1] == std::floor(v[1])))
    table.bad(name, "zero point ", v[1], " is not an integer in [0, ", qmax, "]");
  return activation_qparams(v[0], static_cast<int32_t>(v[1]), qmax);
}

void verify_checksums(const nn::SafeTensors& file, const std::string& path) {
  std::map<std::string, std::string> listed;
  std::stringstream ss(meta_value(file.metadata, "qgrad.crc32", path));
  for (std::string line; std::getline(ss, line);) {
    const size_t sp = line.find(' ');
    check(sp != std::string::npos, kOp, path, ": metadata 'qgrad.crc32' line '", line, "' is not 'name crc'");
    listed[line.substr(0, sp)] = line.substr(sp + 1);
  }
  for (const auto& [name, t] : file.tensors) {
    auto it = listed.find(name);
    check(it != listed.end(), kOp, path, ": tensor '", name, "' has no checksum in 'qgrad.crc32'");
    const std::string got = hex32(tensor_crc(t));
    check(it->second == got, kOp, path, ": tensor '", name, "' is corrupted: CRC-32 ", got, ", the file recorded ",
          it->second);
    listed.erase(it);
  }
  check(listed.empty(), kOp, path, ": tensor '", listed.empty() ? "" : listed.begin()->first,
        "' is missing (it has a checksum in 'qgrad.crc32')");
}

// A layer's line in "qgrad.int_layers", indented two spaces per nesting level, followed by
// the lines of the layers nested in it (an IntResidual's body, then its shortcut).
std::string layer_lines(const IntLayer& layer, int depth) {
  std::string s = std::string(static_cast<size_t>(2 * depth), ' ') + layer.describe() + "\n";
  for (const IntLayers* list : layer.nested())
    for (const auto& l : *list) s += layer_lines(*l, depth + 1);
  return s;
}

}  // namespace

void save_int_model(const std::string& path, const IntModel& model, const nn::Metadata& metadata) {
  nn::StateDict sd;
  std::string layers;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    model.layers[i]->export_tensors(std::to_string(i), sd);
    layers += layer_lines(*model.layers[i], 0);
  }
  auto qp = [](const QParams& q) { return from_vector({q.scale[0], static_cast<float>(q.zero_point[0])}, {2}); };
  sd["input.qparams"] = qp(model.input_qparams);
  sd["output.qparams"] = qp(model.output_qparams);
  nn::Metadata meta;
  for (const auto& [key, value] : metadata) {
    check(key.rfind(kReserved, 0) != 0, "save_int_model", path, ": metadata key '", key,
          "' uses the reserved prefix '", kReserved, "'");
    meta[key] = value;
  }
  std::string crcs;
  for (const auto& [name, t] : sd) crcs += name + " " + hex32(tensor_crc(t)) + "\n";
  meta["qgrad.format"] = kIntModelFormat;
  meta["qgrad.int_layers"] = layers;
  meta["qgrad.input_bits"] = std::to_string(model.input_qparams.bits);
  meta["qgrad.output_bits"] = std::to_string(model.output_qparams.bits);
  meta["qgrad.crc32"] = crcs;
  if (model.input_spec) write_input_spec(*model.input_spec, meta);
  nn::save_safetensors(path, sd, meta);
}

bool is_int_model(const nn::Metadata& metadata) {
  auto it = metadata.find("qgrad.format");
  return it != metadata.end() && it->second == kIntModelFormat;
}

IntModelFile read_int_model(const nn::SafeTensors& file, const std::string& path) {
  auto format = file.metadata.find("qgrad.format");
  check(is_int_model(file.metadata), kOp, path, ": not a qgrad integer model (metadata 'qgrad.format' is ",
        format == file.metadata.end() ? std::string("missing") : "'" + format->second + "'", ", expected '",
        kIntModelFormat, "')");
  verify_checksums(file, path);
  IntModelFile out;
  out.metadata = file.metadata;
  out.model = std::make_shared<IntModel>();
  TensorTable table(file.tensors, path);
  LayerReader reader(meta_value(file.metadata, "qgrad.int_layers", path), path);
  size_t index = 0;
  for (; !reader.at_end(); ++index) {
    const std::string prefix = std::to_string(index);
    out.model->layers.push_back(reader.read(prefix, 0, table, "the model"));
    int64_t bytes = 0;
    for (const auto& [name, t] : file.tensors)
      if (name.rfind(prefix + ".", 0) == 0) bytes += t.numel() * static_cast<int64_t>(dtype_size(t.dtype()));
    out.layer_bytes.push_back(bytes);
  }
  check(index > 0, kOp, path, ": metadata 'qgrad.int_layers' lists no layers");
  out.model->input_qparams = io_qparams(table, "input.qparams", meta_bits(file.metadata, "qgrad.input_bits", path));
  out.model->output_qparams = io_qparams(table, "output.qparams", meta_bits(file.metadata, "qgrad.output_bits", path));
  out.model->input_spec = read_input_spec(file.metadata, path);
  out.io_bytes = 16;
  table.finish();
  out.model->eval();
  return out;
}

IntModelFile read_int_model(const std::string& path) { return read_int_model(nn::load_safetensors(path), path); }

std::shared_ptr<IntModel> load_int_model(const std::string& path) { return read_int_model(path).model; }

}  // namespace qgrad::quant
