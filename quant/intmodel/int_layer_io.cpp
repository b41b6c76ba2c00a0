#include "quant/intmodel/int_layer_io.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "quant/layers/registry.h"
#include "quant/math/packing.h"

namespace qgrad::quant {

bool parse_int(const std::string& s, int64_t& v) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

LayerLine::LayerLine(const std::string& line, const std::string& label, const std::string& path)
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

std::string LayerLine::text(const std::string& key) {
  auto it = options_.find(key);
  if (it == options_.end()) bad("option '", key, "' is missing");
  used_.insert(key);
  return it->second;
}

int64_t LayerLine::integer(const std::string& key, int64_t lo, int64_t hi) {
  const std::string s = text(key);
  int64_t v = 0;
  if (!parse_int(s, v)) bad("option ", key, "='", s, "' is not an integer");
  if (v < lo || v > hi) bad("option ", key, "=", v, " is outside [", lo, ", ", hi, "]");
  return v;
}

void LayerLine::done() {
  for (const auto& [key, value] : options_)
    if (!used_.count(key)) bad("unknown option '", key, "'");
}

Tensor TensorTable::take(const std::string& name, DType dtype, const Shape& shape) {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail(kLoadIntModel, path_, ": tensor '", name, "' is missing");
  const Tensor t = it->second;
  tensors_.erase(it);
  if (t.dtype() != dtype || t.shape() != shape)
    fail(kLoadIntModel, path_, ": tensor '", name, "' is ", dtype_name(t.dtype()), " ", shape_str(t.shape()),
         ", expected ", dtype_name(dtype), " ", shape_str(shape));
  return t;
}

std::vector<float> TensorTable::positive_scales(const std::string& name, int64_t n) {
  const std::vector<float> v = take(name, DType::Float32, {n}).to_vector();
  for (size_t i = 0; i < v.size(); ++i)
    if (!(std::isfinite(v[i]) && v[i] > 0)) bad(name, "scale ", v[i], " at index ", i, " is not positive and finite");
  return v;
}

void TensorTable::finish() const {
  if (!tensors_.empty())
    fail(kLoadIntModel, path_, ": unexpected tensor '", tensors_.begin()->first,
         "' (no layer of qgrad.int_layers uses it)");
}

IntLayerSource::ActivationSides IntLayerSource::activation_sides() {
  const std::string zname = prefix + ".zero_points";
  const auto z = table.take(zname, DType::Int32, {4}).to_vector<int32_t>();
  const auto s = table.positive_scales(prefix + ".scales", 2);
  if (!bits_of_qmax(z[3])) table.bad(zname, "qmax ", z[3], " is not 2^bits - 1 for bits in 2..8");
  for (int i = 0; i < 3; ++i)
    if (z[i] < 0 || z[i] > (i == 0 ? 255 : z[3]))
      table.bad(zname, "entry ", i, " (", z[i], ") is outside [0, ", i == 0 ? 255 : z[3], "]");
  if (z[2] > z[1]) table.bad(zname, "qmin ", z[2], " is above the output zero point ", z[1]);
  return {z[0], z[1], z[2], z[3], s[0], s[1]};
}

Tensor IntLayerSource::codebook_indices(int64_t out, int64_t k, IntGemmParams& p) {
  const std::string wname = prefix + ".weight", cname = prefix + ".codebook";
  const int64_t levels = int64_t{1} << p.weight_bits;
  const Tensor packed = table.take(wname, DType::UInt8, {packed_bytes(out * k, storage_bits(p.weight_bits))});
  std::vector<uint8_t> indices;
  try {
    indices = unpack_indices(packed.data<uint8_t>(), packed.numel(), out * k, p.weight_bits);
  } catch (const Error& e) {
    table.bad(wname, e.what());
  }
  p.codebook = table.take(cname, DType::Int8, {levels}).to_vector<int8_t>();
  for (size_t j = 0; j < p.codebook.size(); ++j)
    if (p.codebook[j] < -127) table.bad(cname, "level ", int{p.codebook[j]}, " at ", j, " is outside [-127, 127]");
  std::vector<int8_t> codes(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= levels)
      table.bad(wname, "index ", int{indices[i]}, " at ", i, " is past the ", levels, "-entry codebook");
    codes[i] = p.codebook[indices[i]];
  }
  p.qweight = from_vector<int8_t>(codes, {out, k});
  return from_vector<uint8_t>(indices, {out, k});
}

IntGemmParams IntLayerSource::gemm_params(int64_t out, int64_t k) {
  if (k > kMaxQGemmDepth) line.bad("reduction depth ", k, " exceeds ", kMaxQGemmDepth);
  IntGemmParams p;
  p.weight_bits = static_cast<int>(line.integer("weight_bits", 2, 8));
  const std::string gran = line.text("granularity");
  if (gran != "channel" && gran != "tensor") line.bad("granularity '", gran, "' is not channel or tensor");
  p.per_channel = gran == "channel";
  p.relu = line.integer("relu", 0, 1) == 1;
  if (line.has("weights")) {  // absent: linear, as in files written before codebook weights
    const std::string method = line.text("weights");
    if (method != "kmeans" && method != "pow2") line.bad("weights '", method, "' is not kmeans or pow2");
    p.weight_method = parse_weight_method(method);
  }
  line.done();

  const std::string wname = prefix + ".weight";
  const int stored = storage_bits(p.weight_bits);
  if (p.weight_method != WeightMethod::Linear) {
    p.indices = codebook_indices(out, k, p);
  } else if (stored == 8) {
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
  const int32_t wmax = p.weight_method == WeightMethod::Linear ? (1 << (p.weight_bits - 1)) - 1 : 127;
  const int8_t* w = p.qweight.data<int8_t>();
  for (int64_t i = 0; i < out * k; ++i)
    if (w[i] < -wmax || w[i] > wmax)
      table.bad(wname, "code ", static_cast<int>(w[i]), " at index ", i, " is outside the symmetric ", p.weight_bits,
                "-bit range [", -wmax, ", ", wmax, "]");
  p.weight_scale = table.positive_scales(prefix + ".weight_scale", p.per_channel ? out : 1);
  p.bias = table.take(prefix + ".bias", DType::Int32, {out}).to_vector<int32_t>();
  const ActivationSides a = activation_sides();
  if (a.qmin != (p.relu ? a.out_zp : 0))
    table.bad(prefix + ".zero_points", "qmin ", a.qmin, " does not match relu=", p.relu ? 1 : 0, " (expected ",
              p.relu ? a.out_zp : 0, ")");
  p.in_zero_point = a.in_zp;
  p.out_zero_point = a.out_zp;
  p.qmin = a.qmin;
  p.qmax = a.qmax;
  p.in_scale = a.in_scale;
  p.out_scale = a.out_scale;
  return p;
}

LayerReader::LayerReader(const std::string& text, const std::string& path) : path_(path) {
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines_.push_back(line);
}

int LayerReader::next_depth() const {
  const std::string& l = lines_[next_];
  const size_t spaces = l.find_first_not_of(' ');
  if (spaces == std::string::npos || spaces % 2) return -1;
  return static_cast<int>(spaces / 2);
}

std::unique_ptr<IntLayer> LayerReader::read(const std::string& label, int depth, TensorTable& table,
                                            const std::string& owner) {
  if (at_end()) fail(kLoadIntModel, path_, ": metadata 'qgrad.int_layers' ends before layer ", label, " (", owner, ")");
  const size_t at = next_;
  if (next_depth() != depth) {
    const size_t spaces = lines_[at].find_first_not_of(' ');
    fail(kLoadIntModel, path_, ": metadata 'qgrad.int_layers' line ", at + 1, " ('", lines_[at], "') is ",
         spaces == std::string::npos ? std::string("blank") : cat("indented ", spaces, " spaces"), ", expected ",
         2 * depth, " spaces of indentation for layer ", label, " (", owner, ")");
  }
  ++next_;
  LayerLine line(lines_[at].substr(static_cast<size_t>(2 * depth)), label, path_);
  std::string kinds;
  for (const QuantizedLayerType& type : quantized_layer_types())
    for (const std::string& kind : type.int_kinds) {
      if (kind == line.kind) {
        IntLayerSource source{line, table, label, *this, depth};
        try {  // a loader's constructor may refuse values (a multiplier out of range): name the layer
          return type.load(source);
        } catch (const Error& e) {
          if (std::string(e.what()).find(path_) != std::string::npos) throw;
          line.bad(e.what());
        }
      }
      kinds += (kinds.empty() ? "" : ", ") + kind;
    }
  line.bad("unknown layer kind '", line.kind, "' (expected one of ", kinds, ")");
}

}  // namespace qgrad::quant
