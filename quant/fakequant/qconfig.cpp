#include "quant/fakequant/qconfig.h"

#include <fnmatch.h>

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/random.h"
#include "nn/conv2d.h"
#include "nn/linear.h"

namespace qgrad::quant {

ObserverKind parse_observer_kind(const std::string& name) {
  if (name == "minmax") return ObserverKind::MinMax;
  if (name == "ema") return ObserverKind::MovingAverage;
  if (name == "percentile") return ObserverKind::Percentile;
  if (name == "mse") return ObserverKind::Mse;
  fail("parse_observer_kind", "unknown observer '", name, "' (known: minmax, ema, percentile, mse)");
}

std::string to_string(ObserverKind kind) {
  switch (kind) {
    case ObserverKind::MinMax: return "minmax";
    case ObserverKind::MovingAverage: return "ema";
    case ObserverKind::Percentile: return "percentile";
    case ObserverKind::Mse: return "mse";
  }
  return "?";
}

bool glob_match(const std::string& pattern, const std::string& name) {
  // Flags 0: no FNM_PATHNAME or FNM_PERIOD, so '*' and '?' match '.' like any other character.
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

const LayerQConfig& QConfig::for_module(const std::string& name) const {
  for (const auto& rule : rules)
    if (glob_match(rule.pattern, name)) return rule.config;
  return default_config;
}

QConfig default_qconfig(const nn::Module& model, const DefaultQConfigOptions& o) {
  check_bits(o.weight_bits, "default_qconfig");
  check_bits(o.activation_bits, "default_qconfig");
  auto layer = [&](int wbits, int abits, WeightMethod method) {
    LayerQConfig c;
    c.weight = {.bits = wbits, .symmetric = o.symmetric_weights,
                .axis = o.per_channel ? std::optional<int64_t>(0) : std::nullopt};
    c.weight_method = method;
    c.activation = {.bits = abits, .symmetric = false};
    c.observer = o.observer;
    return c;
  };
  QConfig config;
  config.default_config = layer(o.weight_bits, o.activation_bits, o.weight_method);
  if (!o.keep_ends_8bit || (o.weight_bits == 8 && o.activation_bits == 8)) return config;
  std::vector<std::string> layers;
  for (const auto& [name, m] : model.named_modules())
    if (dynamic_cast<const nn::Linear*>(m.get()) || dynamic_cast<const nn::Conv2d*>(m.get()))
      layers.push_back(name);
  if (layers.empty()) return config;
  config.rules.push_back({layers.front(), layer(8, 8, WeightMethod::Linear)});
  if (layers.back() != layers.front()) config.rules.push_back({layers.back(), layer(8, 8, WeightMethod::Linear)});
  return config;
}

Sampling::Kind parse_sampling_kind(const std::string& name) {
  if (name == "all") return Sampling::Kind::All;
  if (name == "uniform") return Sampling::Kind::Uniform;
  if (name == "random") return Sampling::Kind::Random;
  fail("parse_sampling_kind", "unknown sampling '", name, "' (known: all, uniform, random)");
}

std::vector<int64_t> calibration_indices(const Sampling& s, int64_t size) {
  const char* op = "calibration_indices";
  check(size > 0, op, "the data set is empty");
  check(s.count >= 0 && s.stride >= 0, op, "count and stride must be >= 0, got count ", s.count,
        ", stride ", s.stride);
  std::vector<int64_t> out;
  switch (s.kind) {
    case Sampling::Kind::All: {
      check(s.count == 0 || s.count == size, op, "sampling 'all' takes every one of the ", size,
            " samples, but count is ", s.count);
      out.resize(static_cast<size_t>(size));
      std::iota(out.begin(), out.end(), int64_t{0});
      break;
    }
    case Sampling::Kind::Uniform: {
      check(s.count > 0 || s.stride > 0, op, "sampling 'uniform' needs a count or a stride");
      const int64_t stride = s.stride > 0 ? s.stride : std::max<int64_t>(1, size / s.count);
      const int64_t available = (size + stride - 1) / stride;
      const int64_t count = s.count > 0 ? s.count : available;
      check(count <= available, op, "sampling 'uniform' with stride ", stride, " gives ", available,
            " of ", size, " samples, fewer than count ", count);
      for (int64_t i = 0; i < count; ++i) out.push_back(i * stride);
      break;
    }
    case Sampling::Kind::Random: {
      const int64_t count = s.count > 0 ? s.count : size;
      check(count <= size, op, "sampling 'random' cannot draw ", count, " distinct samples from ",
            size);
      // Partial Fisher-Yates: the first count entries of a seeded shuffle.
      std::vector<int64_t> all(static_cast<size_t>(size));
      std::iota(all.begin(), all.end(), int64_t{0});
      Generator gen(s.seed);
      for (int64_t i = 0; i < count; ++i) {
        const auto j = i + static_cast<int64_t>(gen.below(static_cast<uint64_t>(size - i)));
        std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(j)]);
      }
      out.assign(all.begin(), all.begin() + count);
      std::sort(out.begin(), out.end());
      break;
    }
  }
  return out;
}

}  // namespace qgrad::quant
