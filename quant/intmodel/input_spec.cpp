#include "quant/intmodel/input_spec.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "datasets/transforms.h"
#include "quant/intmodel/int_layer_io.h"

namespace qgrad::quant {

namespace {

// The keys, in the order a reader needs them (docs/quantization.md §8).
const char* const kShapeKey = "qgrad.input_shape";
const char* const kLayoutKey = "qgrad.input_layout";
const char* const kPixelMaxKey = "qgrad.input_pixel_max";
const char* const kMeanKey = "qgrad.input_mean";
const char* const kStdKey = "qgrad.input_std";
const char* const kKeys[] = {kShapeKey, kLayoutKey, kPixelMaxKey, kMeanKey, kStdKey};

// Shortest text that reads back as the same float32 (std::to_chars), so "0.1307" stays
// readable and the file still holds the exact value the data loader used.
std::string float_text(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <class T>
std::string join(const std::vector<T>& v) {
  std::string s;
  for (const T& x : v) {
    if (!s.empty()) s += ' ';
    if constexpr (std::is_same_v<T, float>) s += float_text(x);
    else s += std::to_string(x);
  }
  return s;
}

// The space-separated words of s.
std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

void check_spec(const InputSpec& spec, const char* op) {
  const data::ImageShape& s = spec.shape;
  check(s.channels > 0 && s.height > 0 && s.width > 0, op, "input shape ", data::shape_str(s),
        " has an empty dimension");
  check(static_cast<int64_t>(spec.mean.size()) == s.channels && static_cast<int64_t>(spec.std.size()) == s.channels,
        op, "input mean/std have ", spec.mean.size(), "/", spec.std.size(), " values for ", s.channels,
        " channels");
  for (size_t c = 0; c < spec.mean.size(); ++c)
    check(std::isfinite(spec.mean[c]) && std::isfinite(spec.std[c]) && spec.std[c] > 0, op, "input channel ", c,
          ": mean ", spec.mean[c], " must be finite and std ", spec.std[c], " positive and finite");
}

}  // namespace

std::string describe(const InputSpec& spec) {
  return cat(data::shape_str(spec.shape), " ", kInputLayout, " uint8/", kInputPixelMax, ", mean ", join(spec.mean),
             ", std ", join(spec.std));
}

void write_input_spec(const InputSpec& spec, nn::Metadata& meta) {
  check_spec(spec, "save_int_model");
  meta[kShapeKey] = join(std::vector<int64_t>{spec.shape.channels, spec.shape.height, spec.shape.width});
  meta[kLayoutKey] = kInputLayout;
  meta[kPixelMaxKey] = std::to_string(kInputPixelMax);
  meta[kMeanKey] = join(spec.mean);
  meta[kStdKey] = join(spec.std);
}

std::optional<InputSpec> read_input_spec(const nn::Metadata& meta, const std::string& path) {
  size_t present = 0;
  for (const char* key : kKeys) present += meta.count(key);
  if (present == 0) return std::nullopt;
  const auto value = [&](const char* key) -> const std::string& {
    auto it = meta.find(key);
    check(it != meta.end(), kLoadIntModel, path, ": metadata has ", present, " of the 5 input spec keys but no '", key,
          "' (a spec needs all of qgrad.input_shape/_layout/_pixel_max/_mean/_std)");
    return it->second;
  };
  const auto bad = [&](const char* key, const auto&... what) {
    fail(kLoadIntModel, path, ": metadata '", key, "' = '", value(key), "' ", what...);
  };
  InputSpec spec;
  const std::vector<std::string> dims = words(value(kShapeKey));
  int64_t d[3] = {0, 0, 0};
  if (dims.size() != 3 || !parse_int(dims[0], d[0]) || !parse_int(dims[1], d[1]) || !parse_int(dims[2], d[2]) ||
      d[0] <= 0 || d[1] <= 0 || d[2] <= 0)
    bad(kShapeKey, "is not three positive integers 'C H W'");
  spec.shape = {.channels = d[0], .height = d[1], .width = d[2]};
  if (value(kLayoutKey) != kInputLayout) bad(kLayoutKey, "is not a layout this version reads (only '", kInputLayout, "')");
  if (value(kPixelMaxKey) != std::to_string(kInputPixelMax))
    bad(kPixelMaxKey, "is not a pixel range this version reads (only ", kInputPixelMax, ": uint8 pixels / 255)");
  const auto floats = [&](const char* key, bool positive) {
    std::vector<float> v;
    for (const std::string& w : words(value(key))) {
      float f = 0;
      const auto r = std::from_chars(w.data(), w.data() + w.size(), f);
      if (r.ec != std::errc() || r.ptr != w.data() + w.size() || !std::isfinite(f) || (positive && !(f > 0)))
        bad(key, "has '", w, "', not a ", positive ? "positive " : "", "finite number");
      v.push_back(f);
    }
    if (static_cast<int64_t>(v.size()) != spec.shape.channels)
      bad(key, "has ", v.size(), " values for ", spec.shape.channels, " channels ('", kShapeKey, "')");
    return v;
  };
  spec.mean = floats(kMeanKey, false);
  spec.std = floats(kStdKey, true);
  return spec;
}

Tensor normalize_pixels(const InputSpec& spec, const Tensor& pixels) {
  const data::ImageShape& s = spec.shape;
  check(pixels.dtype() == DType::UInt8 && pixels.dim() == 4 && pixels.size(1) == s.channels &&
            pixels.size(2) == s.height && pixels.size(3) == s.width,
        "normalize_pixels", "expects uint8 [N, ", s.channels, ", ", s.height, ", ", s.width, "] (", describe(spec),
        "), got ", dtype_name(pixels.dtype()), " ", shape_str(pixels.shape()));
  check_spec(spec, "normalize_pixels");
  // The reciprocal as the data loader forms it (DataLoader's inv_std), so the floats match it bit for bit.
  std::vector<float> inv_std;
  for (float v : spec.std) inv_std.push_back(1.f / v);
  const Tensor p = pixels.contiguous();
  Tensor out = empty(pixels.shape());
  for (int64_t n = 0; n < p.size(0); ++n)
    data::normalize_image(p.data<uint8_t>() + n * s.numel(), s, 0, data::Placement{}, spec.mean, inv_std,
                          out.data<float>() + n * s.numel());
  return out;
}

}  // namespace qgrad::quant
