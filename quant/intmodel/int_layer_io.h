// Reading one integer layer back from a model file (quant/intmodel/int_model_file.h), the part
// each layer's loader in quant/layers/ uses: its line of options in "qgrad.int_layers" and its
// tensors, each checked as it is taken, so a damaged file fails with a message naming the file,
// the layer and what is wrong instead of building a model that computes something else.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "nn/state_dict.h"
#include "quant/intmodel/int_modules.h"

namespace qgrad::quant {

inline constexpr const char* kLoadIntModel = "load_int_model";

// Whether s is exactly a decimal integer (no sign-less junk, no spaces), stored in v.
bool parse_int(const std::string& s, int64_t& v);

// One line of "qgrad.int_layers": Kind or Kind(key=value, key=value). Every option must be
// read (integer() / text()) before done(), which rejects the ones nobody asked for.
class LayerLine {
 public:
  // label: the layer's place, "3" or "3.body.1" (the prefix of its tensors).
  LayerLine(const std::string& line, const std::string& label, const std::string& path);
  std::string kind;

  bool has(const std::string& key) const { return options_.count(key) > 0; }
  std::string text(const std::string& key);
  int64_t integer(const std::string& key, int64_t lo, int64_t hi);
  // An option added after files without it were written: absent means `absent`.
  int64_t integer_or(const std::string& key, int64_t absent, int64_t lo, int64_t hi) {
    return has(key) ? integer(key, lo, hi) : absent;
  }
  void done();
  template <class... A>
  [[noreturn]] void bad(const A&... what) const {
    fail(kLoadIntModel, path_, ": layer ", label_, " (", kind, "): ", what...);
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
  Tensor take(const std::string& name, DType dtype, const Shape& shape);
  // n float32 scales, each positive and finite.
  std::vector<float> positive_scales(const std::string& name, int64_t n);
  void finish() const;
  template <class... A>
  [[noreturn]] void bad(const std::string& name, const A&... what) const {
    fail(kLoadIntModel, path_, ": tensor '", name, "': ", what...);
  }

 private:
  nn::StateDict tensors_;
  std::string path_;
};

class LayerReader;

// What a layer's loader (QuantizedLayerType::load) reads from.
struct IntLayerSource {
  LayerLine& line;
  TensorTable& table;
  const std::string& prefix;  // the layer's tensors are prefix + ".weight" etc.
  LayerReader& reader;        // for the layers nested in it (a residual's branches)
  int depth;                  // its nesting level

  // zero_points [in_zp, out_zp, qmin, qmax] and scales [s_in, s_out], range-checked.
  struct ActivationSides {
    int32_t in_zp, out_zp, qmin, qmax;
    float in_scale, out_scale;
  };
  ActivationSides activation_sides();
  // The options and tensors every integer GEMM layer has (IntGemm::export_tensors), for a weight
  // of [out, k]; call it after reading the layer's own options, as it closes the line (done()):
  // weight_bits, granularity, relu, [weights=kmeans|pow2]; the codes (unpacked when 2/4-bit, each
  // checked against the symmetric range) or, for codebook weights, the packed indices and the
  // codebook expanded into the codes; weight_scale, bias and the activation sides.
  IntGemmParams gemm_params(int64_t out, int64_t k);

 private:
  // A codebook weight's indices [out, k]; fills p.codebook and p.qweight = codebook[index]. Refuses
  // an index past the codebook and a level of -128.
  Tensor codebook_indices(int64_t out, int64_t k, IntGemmParams& p);
};

// The lines of "qgrad.int_layers" read one layer at a time. A layer nested in another (an
// IntResidual's branches) is indented two spaces per level; its line must carry exactly its
// level's indentation. read() finds the layer's loader in the registry (quant/layers/registry.h).
class LayerReader {
 public:
  LayerReader(const std::string& text, const std::string& path);
  bool at_end() const { return next_ == lines_.size(); }
  // Reads the layer on the next line (and any layers nested in it), named label (tensors
  // under label + "."), at nesting depth `depth`; `owner` describes who expects it (messages).
  std::unique_ptr<IntLayer> read(const std::string& label, int depth, TensorTable& table, const std::string& owner);

 private:
  int next_depth() const;
  std::string path_;
  std::vector<std::string> lines_;
  size_t next_ = 0;
};

}  // namespace qgrad::quant
