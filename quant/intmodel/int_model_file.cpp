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
#include "quant/intmodel/int_residual.h"
#include "quant/math/packing.h"

namespace qgrad::quant {

namespace {

const char* kOp = "load_int_model";
const std::string kReserved = "qgrad.";

// CRC-32 of a tensor's bytes as the file stores them (little-endian).
uint32_t tensor_crc(const Tensor& t) {
  const Tensor c = t.contiguous();
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

bool parse_int(const std::string& s, int64_t& v) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

// One line of "qgrad.int_layers": Kind or Kind(key=value, key=value). Every option must be
// read (integer() / text()) before done(), which rejects the ones nobody asked for.
class LayerLine {
 public:
  // label: the layer's place, "3" or "3.body.1" (the prefix of its tensors).
  LayerLine(const std::string& line, const std::string& label, const std::string& path)
      : path_(path), label_(label) {
    const size_t open = line.find('(');
    kind = line.substr(0, open);
    if (open == std::string::npos) return;
    if (line.back() != ')') bad("the line '", line, "' does not end with ')'");
    std::stringstream ss(line.substr(open + 1, line.size() - open - 2));
    for (std::string item; std::getline(ss, item, ',');) {
      while (!item.empty() && item.front() == ' ') item.erase(item.begin());
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0) bad("option '", item, "' is not key=value");
      if (!options_.emplace(item.substr(0, eq), item.substr(eq + 1)).second)
        bad("option '", item.substr(0, eq), "' is given twice");
    }
  }
  std::string kind;

  std::string text(const std::string& key) {
    auto it = options_.find(key);
    if (it == options_.end()) bad("option '", key, "' is missing");
    used_.insert(key);
    return it->second;
  }
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) {
    const std::string s = text(key);
    int64_t v = 0;
    if (!parse_int(s, v)) bad("option ", key, "='", s, "' is not an integer");
    if (v < lo || v > hi) bad("option ", key, "=", v, " is outside [", lo, ", ", hi, "]");
    return v;
  }
  void done() {
    for (const auto& [key, value] : options_)
      if (!used_.count(key)) bad("unknown option '", key, "'");
  }
  template <class... A>
  [[noreturn]] void bad(const A&... what) const {
    fail(kOp, path_, ": layer ", label_, " (", kind, "): ", what...);
  }

 private:
  std::string path_, label_;
  std::map<std::string, std::string> options_;
  std::set<std::string> used_;
};

// The file's tensors, handed out one by one with their dtype and shape checked; whatever no
// layer takes is an error at the end.
class TensorTable {
 public:
  TensorTable(const nn::StateDict& tensors, const std::string& path) : tensors_(tensors), path_(path) {}

  Tensor take(const std::string& name, DType dtype, const Shape& shape) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) fail(kOp, path_, ": tensor '", name, "' is missing");
    const Tensor t = it->second;
    tensors_.erase(it);
    if (t.dtype() != dtype || t.shape() != shape)
      fail(kOp, path_, ": tensor '", name, "' is ", dtype_name(t.dtype()), " ", shape_str(t.shape()), ", expected ",
           dtype_name(dtype), " ", shape_str(shape));
    return t;
  }
  void finish() const {
    if (!tensors_.empty())
      fail(kOp, path_, ": unexpected tensor '", tensors_.begin()->first, "' (no layer of qgrad.int_layers uses it)");
  }
  template <class... A>
  [[noreturn]] void bad(const std::string& name, const A&... what) const {
    fail(kOp, path_, ": tensor '", name, "': ", what...);
  }

 private:
  nn::StateDict tensors_;
  std::string path_;
};

std::vector<float> positive_scales(TensorTable& table, const std::string& name, int64_t n) {
  const std::vector<float> v = table.take(name, DType::Float32, {n}).to_vector();
  for (size_t i = 0; i < v.size(); ++i)
    if (!(std::isfinite(v[i]) && v[i] > 0)) table.bad(name, "scale ", v[i], " at index ", i, " is not positive and finite");
  return v;
}

// The bit width of an unsigned activation range [0, qmax]: qmax must be 2^b - 1, b in 2..8.
int bits_of_qmax(int64_t qmax) {
  for (int b = 2; b <= 8; ++b)
    if (qmax == (1 << b) - 1) return b;
  return 0;
}

// zero_points [in_zp, out_zp, qmin, qmax] and scales [s_in, s_out] of layer `prefix`.
struct ActivationSides {
  int32_t in_zp, out_zp, qmin, qmax;
  float in_scale, out_scale;
};
ActivationSides activation_sides(TensorTable& table, const std::string& prefix) {
  const std::string zname = prefix + ".zero_points";
  const auto z = table.take(zname, DType::Int32, {4}).to_vector<int32_t>();
  const auto s = positive_scales(table, prefix + ".scales", 2);
  if (!bits_of_qmax(z[3])) table.bad(zname, "qmax ", z[3], " is not 2^bits - 1 for bits in 2..8");
  for (int i = 0; i < 3; ++i)
    if (z[i] < 0 || z[i] > (i == 0 ? 255 : z[3]))
      table.bad(zname, "entry ", i, " (", z[i], ") is outside [0, ", i == 0 ? 255 : z[3], "]");
  if (z[2] > z[1]) table.bad(zname, "qmin ", z[2], " is above the output zero point ", z[1]);
  return {z[0], z[1], z[2], z[3], s[0], s[1]};
}

std::unique_ptr<IntLayer> gemm_layer(LayerLine& line, TensorTable& table, const std::string& prefix) {
  const bool conv = line.kind == "QuantizedConv2d";
  const int64_t in = line.integer("in", 1, kMaxQGemmDepth), out = line.integer("out", 1, int64_t{1} << 24);
  int64_t kernel = 1, stride = 1, padding = 0;
  if (conv) {
    kernel = line.integer("kernel", 1, 64);
    stride = line.integer("stride", 1, 64);
    padding = line.integer("padding", 0, 64);
  }
  const int64_t k = in * kernel * kernel;
  if (k > kMaxQGemmDepth) line.bad("reduction depth ", k, " exceeds ", kMaxQGemmDepth);
  IntGemmParams p;
  p.weight_bits = static_cast<int>(line.integer("weight_bits", 2, 8));
  const std::string gran = line.text("granularity");
  if (gran != "channel" && gran != "tensor") line.bad("granularity '", gran, "' is not channel or tensor");
  p.per_channel = gran == "channel";
  p.relu = line.integer("relu", 0, 1) == 1;
  line.done();

  const std::string wname = prefix + ".weight";
  const int stored = storage_bits(p.weight_bits);
  if (stored == 8) {
    p.qweight = table.take(wname, DType::Int8, {out, k}).contiguous();
  } else {
    const Tensor packed = table.take(wname, DType::UInt8, {packed_bytes(out * k, stored)});
    std::vector<int8_t> codes;
    try {
      codes = unpack_codes(packed.data<uint8_t>(), packed.numel(), out * k, stored);
    } catch (const Error& e) {
      table.bad(wname, e.what());
    }
    p.qweight = from_vector<int8_t>(codes, {out, k});
  }
  // Symmetric weights never use -2^(b-1): the SIMD kernels' pairwise int16 sums rely on it.
  const int32_t wmax = (1 << (p.weight_bits - 1)) - 1;
  const int8_t* w = p.qweight.data<int8_t>();
  for (int64_t i = 0; i < out * k; ++i)
    if (w[i] < -wmax || w[i] > wmax)
      table.bad(wname, "code ", static_cast<int>(w[i]), " at index ", i, " is outside the symmetric ", p.weight_bits,
                "-bit range [", -wmax, ", ", wmax, "]");
  p.weight_scale = positive_scales(table, prefix + ".weight_scale", p.per_channel ? out : 1);
  p.bias = table.take(prefix + ".bias", DType::Int32, {out}).to_vector<int32_t>();
  const ActivationSides a = activation_sides(table, prefix);
  if (a.qmin != (p.relu ? a.out_zp : 0))
    table.bad(prefix + ".zero_points", "qmin ", a.qmin, " does not match relu=", p.relu ? 1 : 0, " (expected ",
              p.relu ? a.out_zp : 0, ")");
  p.in_zero_point = a.in_zp;
  p.out_zero_point = a.out_zp;
  p.qmin = a.qmin;
  p.qmax = a.qmax;
  p.in_scale = a.in_scale;
  p.out_scale = a.out_scale;
  try {  // deriving M0 fails when s_in s_w / s_out is out of range
    if (conv) return std::make_unique<QuantizedConv2d>(p, in, kernel, stride, padding);
    return std::make_unique<QuantizedLinear>(p);
  } catch (const Error& e) {
    line.bad(e.what());
  }
}

QParams activation_qparams(float scale, int32_t zero_point, int bits) {
  QParams q;
  q.scale = {scale};
  q.zero_point = {zero_point};
  q.bits = bits;
  return q;
}

Pool2dOptions pool_options(LayerLine& line) {
  Pool2dOptions o;
  o.kernel = line.integer("kernel", 1, 64);
  o.stride = line.integer("stride", 0, 64);
  // At most half the window is padding, so every window holds an input value.
  o.padding = line.integer("padding", 0, o.kernel / 2);
  return o;
}

// The nesting depth of a layer from its label: "3" is 0, "3.body.1" 1, "3.body.1.shortcut.0" 2.
int line_depth(const std::string& label) {
  return static_cast<int>(std::count(label.begin(), label.end(), '.') / 2);
}

class LayerReader;
std::unique_ptr<IntLayer> make_layer(LayerLine& line, TensorTable& table, const std::string& prefix,
                                     LayerReader& reader);

// The lines of "qgrad.int_layers" read one layer at a time. A layer nested in an IntResidual
// is indented two spaces per level; its line must carry exactly its level's indentation.
class LayerReader {
 public:
  LayerReader(const std::string& text, const std::string& path) : path_(path) {
    std::stringstream ss(text);
    for (std::string line; std::getline(ss, line);) lines_.push_back(line);
  }
  bool at_end() const { return next_ == lines_.size(); }
  // The next line's indentation level (-1 when it is not a multiple of two spaces).
  int next_depth() const {
    const std::string& l = lines_[next_];
    const size_t spaces = l.find_first_not_of(' ');
    if (spaces == std::string::npos || spaces % 2) return -1;
    return static_cast<int>(spaces / 2);
  }
  // Reads the layer on the next line (and any layers nested in it), named label (tensors
  // under label + "."), at nesting depth `depth`; `owner` describes who expects it (messages).
  std::unique_ptr<IntLayer> read(const std::string& label, int depth, TensorTable& table, const std::string& owner) {
    if (at_end()) fail(kOp, path_, ": metadata 'qgrad.int_layers' ends before layer ", label, " (", owner, ")");
    const size_t at = next_;
    if (next_depth() != depth) {
      const size_t spaces = lines_[at].find_first_not_of(' ');
      fail(kOp, path_, ": metadata 'qgrad.int_layers' line ", at + 1, " ('", lines_[at], "') is ",
           spaces == std::string::npos ? std::string("blank") : cat("indented ", spaces, " spaces"), ", expected ",
           2 * depth, " spaces of indentation for layer ", label, " (", owner, ")");
    }
    ++next_;
    LayerLine line(lines_[at].substr(static_cast<size_t>(2 * depth)), label, path_);
    return make_layer(line, table, label, *this);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> lines_;
  size_t next_ = 0;
};

std::unique_ptr<IntLayer> residual_layer(LayerLine& line, TensorTable& table, const std::string& prefix,
                                         LayerReader& reader) {
  const int64_t body = line.integer("body", 0, 4096), shortcut = line.integer("shortcut", 0, 4096);
  const bool relu = line.integer("relu", 0, 1) == 1;
  line.done();
  const std::string zname = prefix + ".zero_points";
  const auto z = table.take(zname, DType::Int32, {5}).to_vector<int32_t>();
  const auto s = positive_scales(table, prefix + ".scales", 3);
  // z = [z_a, z_b, z_o, qmin, qmax]
  if (!bits_of_qmax(z[4])) table.bad(zname, "qmax ", z[4], " is not 2^bits - 1 for bits in 2..8");
  for (int i = 0; i < 3; ++i)
    if (z[i] < 0 || z[i] > (i < 2 ? 255 : z[4]))
      table.bad(zname, "entry ", i, " (", z[i], ") is outside [0, ", i < 2 ? 255 : z[4], "]");
  if (z[3] != (relu ? z[2] : 0))
    table.bad(zname, "qmin ", z[3], " does not match relu=", relu ? 1 : 0, " (expected ", relu ? z[2] : 0, ")");
  std::unique_ptr<IntAdd> add;
  try {  // deriving the fixed-point multipliers fails when max(s_a, s_b) / s_o is out of range
    add = std::make_unique<IntAdd>(s[0], z[0], s[1], z[1], s[2], z[2], z[3], z[4]);
  } catch (const Error& e) {
    line.bad(e.what());
  }
  const std::string owner = cat("IntResidual ", prefix, " lists ", body, " body and ", shortcut, " shortcut layers");
  IntLayers body_layers, shortcut_layers;
  for (int64_t j = 0; j < body; ++j)
    body_layers.push_back(reader.read(cat(prefix, ".body.", j), line_depth(prefix) + 1, table, owner));
  for (int64_t j = 0; j < shortcut; ++j)
    shortcut_layers.push_back(reader.read(cat(prefix, ".shortcut.", j), line_depth(prefix) + 1, table, owner));
  return std::make_unique<IntResidual>(std::move(body_layers), std::move(shortcut_layers), *add, relu);
}

std::unique_ptr<IntLayer> make_layer(LayerLine& line, TensorTable& table, const std::string& prefix,
                                     LayerReader& reader) {
  if (line.kind == "IntResidual") return residual_layer(line, table, prefix, reader);
  if (line.kind == "QuantizedConv2d" || line.kind == "QuantizedLinear") return gemm_layer(line, table, prefix);
  if (line.kind == "IntMaxPool2d") {
    const Pool2dOptions o = pool_options(line);
    line.done();
    return std::make_unique<IntMaxPool2d>(o);
  }
  if (line.kind == "IntAvgPool2d" || line.kind == "IntGlobalAvgPool") {
    const bool global = line.kind == "IntGlobalAvgPool";
    const Pool2dOptions o = global ? Pool2dOptions{} : pool_options(line);
    line.done();
    const ActivationSides a = activation_sides(table, prefix);
    if (a.qmin != 0) table.bad(prefix + ".zero_points", "qmin of an average pool must be 0, got ", a.qmin);
    const int bits = bits_of_qmax(a.qmax);
    return std::make_unique<IntAvgPool2d>(o, global, activation_qparams(a.in_scale, a.in_zp, 8),
                                          activation_qparams(a.out_scale, a.out_zp, bits));
  }
  if (line.kind == "IntFlatten") {
    line.done();
    return std::make_unique<IntFlatten>();
  }
  if (line.kind == "IntReLU") {
    const auto zp = static_cast<int32_t>(line.integer("zero_point", 0, 255));
    line.done();
    return std::make_unique<IntReLU>(zp);
  }
  line.bad("unknown layer kind '", line.kind,
           "' (expected QuantizedConv2d, QuantizedLinear, IntMaxPool2d, IntAvgPool2d, IntGlobalAvgPool, IntFlatten, "
           "IntReLU or IntResidual)");
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
  return activation_qparams(v[0], static_cast<int32_t>(v[1]), bits);
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
  if (const auto* r = dynamic_cast<const IntResidual*>(&layer)) {
    for (const auto& l : r->body()) s += layer_lines(*l, depth + 1);
    for (const auto& l : r->shortcut()) s += layer_lines(*l, depth + 1);
  }
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
  out.io_bytes = 16;
  table.finish();
  out.model->eval();
  return out;
}

IntModelFile read_int_model(const std::string& path) { return read_int_model(nn::load_safetensors(path), path); }

std::shared_ptr<IntModel> load_int_model(const std::string& path) { return read_int_model(path).model; }

}  // namespace qgrad::quant
