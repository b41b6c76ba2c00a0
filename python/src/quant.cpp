// qgrad.quant: qparams, quantize/dequantize/fake_quantize, observers, metrics, non-linear
// weights and packing (quant/math), QConfig / FakeQuantize / prepare (quant/fakequant), and the
// integer-only model: convert, its file, the report, dynamic quantization (quant/intmodel).
//
// Every function calls the public C++ API; names follow the C++ ones (see each docstring's
// header). Enums cross as the strings the C++ parsers take ("linear" | "kmeans" | "pow2",
// "minmax" | "ema" | "percentile" | "mse", "all" | "uniform" | "random"). prepare, convert, the
// integer model's forwards and the file functions release the GIL; prepare with an example runs
// the model's forward once (quant/fakequant/trace.h), and a forward written in Python takes the
// GIL back through the Module trampoline (nn.cpp).
#include <filesystem>
#include <sstream>

#include "bindings.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qconfig.h"
#include "quant/intmodel/convert.h"
#include "quant/intmodel/dynamic.h"
#include "quant/intmodel/input_spec.h"
#include "quant/intmodel/int_model_file.h"
#include "quant/intmodel/int_model_report.h"
#include "quant/math/metrics.h"
#include "quant/math/nonlinear.h"
#include "quant/math/observer.h"
#include "quant/math/packing.h"
#include "quant/math/qparams.h"
#include "quant/math/quantize.h"

namespace qgrad::python {

namespace {

using namespace qgrad::quant;

py::object axis_obj(const std::optional<int64_t>& axis) { return axis ? py::cast(*axis) : py::none(); }

std::string bool_str(bool b) { return b ? "True" : "False"; }

template <class T>
std::string list_str(const std::vector<T>& v) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

std::string axis_str(const std::optional<int64_t>& axis) { return axis ? std::to_string(*axis) : "None"; }

std::string scheme_repr(const QScheme& s) {
  return cat("QScheme(bits=", s.bits, ", symmetric=", bool_str(s.symmetric), ", axis=", axis_str(s.axis), ")");
}

std::string qparams_repr(const QParams& qp) {
  return cat("QParams(scale=", list_str(qp.scale), ", zero_point=", list_str(qp.zero_point), ", bits=", qp.bits,
             ", is_signed=", bool_str(qp.is_signed), ", axis=", axis_str(qp.axis), ")");
}

// A float or a list of floats (scale), an int or a list of ints (zero_point).
template <class T>
std::vector<T> scalar_or_list(py::handle obj) {
  if (py::isinstance<py::float_>(obj) || py::isinstance<py::int_>(obj)) return {obj.cast<T>()};
  return obj.cast<std::vector<T>>();
}

std::string sampling_kind_str(Sampling::Kind k) {
  switch (k) {
    case Sampling::Kind::All: return "all";
    case Sampling::Kind::Uniform: return "uniform";
    case Sampling::Kind::Random: return "random";
  }
  return "?";
}

py::dict metadata_dict(const nn::Metadata& meta) {
  py::dict d;
  for (const auto& [k, v] : meta) d[py::str(k)] = v;
  return d;
}

std::string path_arg(py::handle p) { return py::str(py::module_::import("os").attr("fspath")(p)); }

py::dict report_dict(const LayerReport& r) {
  py::dict d;
  d["index"] = r.index;
  d["kind"] = r.kind;
  d["description"] = r.description;
  d["file_bytes"] = r.file_bytes;
  d["weight_bits"] = r.weight_bits;
  d["granularity"] = r.granularity;
  d["weight_shape"] = py::cast(std::vector<int64_t>(r.weight_shape.begin(), r.weight_shape.end()));
  d["scale_min"] = r.scale_min;
  d["scale_max"] = r.scale_max;
  d["zero_point_min"] = r.zero_point_min;
  d["zero_point_max"] = r.zero_point_max;
  d["weight_clip_lo"] = r.weight_clip_lo;
  d["weight_clip_hi"] = r.weight_clip_hi;
  d["has_output"] = r.has_output;
  d["output_clip_lo"] = r.output_clip_lo;
  d["output_clip_hi"] = r.output_clip_hi;
  d["sqnr_db"] = r.sqnr_db ? py::cast(*r.sqnr_db) : py::none();
  d["clipped_fraction"] = r.clipped_fraction ? py::cast(*r.clipped_fraction) : py::none();
  return d;
}

// prepare / prepare_qat: a Sequential as it is, any other module traced on `example`.
using PrepareSeq = std::shared_ptr<nn::Sequential> (*)(const nn::Sequential&, const QConfig&);
using PrepareAny = std::shared_ptr<nn::Sequential> (*)(nn::Module&, const QConfig&, const Tensor&);

std::shared_ptr<nn::Sequential> run_prepare(const char* op, PrepareSeq seq_fn, PrepareAny any_fn,
                                            const std::shared_ptr<nn::Module>& model,
                                            const std::optional<QConfig>& config, py::handle example) {
  if (!model) throw py::type_error(cat("qgrad.quant.", op, ": model is None"));
  if (example.is_none()) {
    auto seq = std::dynamic_pointer_cast<nn::Sequential>(model);
    if (!seq)
      throw Error(cat("qgrad::", op, ": ", model->type_name(), " is not a Sequential; pass an example "
                      "input (example=...) so its forward can be traced (quant/fakequant/trace.h)"));
    py::gil_scoped_release release;
    const QConfig c = config ? *config : default_qconfig(*seq, {});
    return seq_fn(*seq, c);
  }
  const Tensor x = to_tensor(example);
  py::gil_scoped_release release;
  const QConfig c = config ? *config : default_qconfig(*model, {});
  return any_fn(*model, c, x);
}

}  // namespace

void bind_quant(py::module_& m) {
  // --- quant/math/qparams.h ------------------------------------------------------------------
  py::class_<QScheme>(m, "QScheme", "How to choose QParams (quant/math/qparams.h): bits, symmetric "
                                    "(signed, zero point 0) or asymmetric (unsigned), per-channel axis or None")
      .def(py::init([](int bits, bool symmetric, std::optional<int64_t> axis) {
             return QScheme{.bits = bits, .symmetric = symmetric, .axis = axis};
           }), py::arg("bits") = 8, py::arg("symmetric") = false, py::arg("axis") = py::none())
      .def_readwrite("bits", &QScheme::bits)
      .def_readwrite("symmetric", &QScheme::symmetric)
      .def_readwrite("axis", &QScheme::axis)
      .def("__repr__", &scheme_repr);

  py::class_<QParams>(m, "QParams", "real = scale * (q - zero_point), q in [qmin, qmax] (quant/math/qparams.h)")
      .def(py::init([](py::handle scale, py::handle zero_point, int bits, bool is_signed, std::optional<int64_t> axis) {
             QParams qp{.scale = scalar_or_list<float>(scale), .zero_point = scalar_or_list<int32_t>(zero_point),
                        .bits = bits, .is_signed = is_signed, .axis = axis};
             qp.validate("QParams");
             return qp;
           }), py::arg("scale"), py::arg("zero_point") = 0, py::arg("bits") = 8, py::arg("is_signed") = false,
           py::arg("axis") = py::none(), "scale/zero_point: a number (per-tensor) or one per channel along axis")
      .def_readonly("scale", &QParams::scale)
      .def_readonly("zero_point", &QParams::zero_point)
      .def_readonly("bits", &QParams::bits)
      .def_readonly("is_signed", &QParams::is_signed)
      .def_property_readonly("axis", [](const QParams& qp) { return axis_obj(qp.axis); })
      .def_property_readonly("qmin", &QParams::qmin)
      .def_property_readonly("qmax", &QParams::qmax)
      .def_property_readonly("dtype", &QParams::dtype)
      .def_property_readonly("per_channel", &QParams::per_channel)
      .def_property_readonly("channels", &QParams::channels)
      .def("validate", [](const QParams& qp) { qp.validate("QParams.validate"); })
      .def("__eq__", [](const QParams& a, const QParams& b) {
        return a.scale == b.scale && a.zero_point == b.zero_point && a.bits == b.bits &&
               a.is_signed == b.is_signed && a.axis == b.axis;
      })
      .def("__repr__", &qparams_repr);

  m.def("check_bits", [](int bits) { check_bits(bits, "check_bits"); }, py::arg("bits"));
  m.def("qparams_from_range", py::overload_cast<float, float, const QScheme&>(&qparams_from_range),
        py::arg("min"), py::arg("max"), py::arg("scheme") = QScheme{},
        "Per-tensor QParams for [min, max] (scheme.axis must be None)");
  m.def("qparams_from_range",
        py::overload_cast<const std::vector<float>&, const std::vector<float>&, const QScheme&>(&qparams_from_range),
        py::arg("min"), py::arg("max"), py::arg("scheme"),
        "Per-channel QParams: min[c], max[c] along scheme.axis (which must be set)");
  m.def("bits_of_qmax", &bits_of_qmax, py::arg("qmax"));
  m.def("activation_qparams", &activation_qparams, py::arg("scale"), py::arg("zero_point"), py::arg("qmax"));

  // --- quant/math/quantize.h -----------------------------------------------------------------
  m.def("quantize", [](py::handle x, const QParams& qp) {
          const Tensor t = to_tensor(x);
          py::gil_scoped_release release;
          return quantize(t, qp);
        }, py::arg("x"), py::arg("qparams"), "float32 -> int8 (signed) / uint8: clamp(round(x / scale) + zp)");
  m.def("dequantize", [](py::handle q, const QParams& qp) {
          const Tensor t = to_tensor(q);
          py::gil_scoped_release release;
          return dequantize(t, qp);
        }, py::arg("q"), py::arg("qparams"), "int8/uint8 -> float32: scale * (q - zp)");
  m.def("fake_quantize", [](py::handle x, const QParams& qp) {
          const Tensor t = to_tensor(x);
          py::gil_scoped_release release;
          return fake_quantize(t, qp);
        }, py::arg("x"), py::arg("qparams"),
        "dequantize(quantize(x)) in float32; differentiable (straight-through inside the clip range)");

  // --- quant/math/observer.h -----------------------------------------------------------------
  py::class_<Observer>(m, "Observer", "Watches tensors (observe) and chooses QParams (qparams)")
      .def("observe", [](Observer& o, py::handle x) {
             const Tensor t = to_tensor(x);
             py::gil_scoped_release release;
             o.observe(t);
           }, py::arg("x"))
      .def("qparams", &Observer::qparams)
      .def_property_readonly("has_observed", &Observer::has_observed)
      .def_property_readonly("observations", &Observer::observations)
      .def_property_readonly("scheme", &Observer::scheme)
      .def_property_readonly("name", &Observer::name)
      .def("__repr__", [](const Observer& o) { return cat(o.name(), "(", scheme_repr(o.scheme()), ")"); });
  py::class_<RangeObserver, Observer>(m, "RangeObserver")
      .def_property_readonly("min", &RangeObserver::min, "the running min, one per channel")
      .def_property_readonly("max", &RangeObserver::max, "the running max, one per channel");
  py::class_<MinMaxObserver, RangeObserver>(m, "MinMaxObserver")
      .def(py::init<QScheme>(), py::arg("scheme") = QScheme{});
  py::class_<MovingAverageMinMaxObserver, RangeObserver>(m, "MovingAverageMinMaxObserver")
      .def(py::init<QScheme, float>(), py::arg("scheme") = QScheme{}, py::arg("averaging_constant") = 0.01f);
  py::class_<SampleObserver, Observer>(m, "SampleObserver")
      .def_property_readonly("values", &SampleObserver::values);
  py::class_<PercentileObserver, SampleObserver>(m, "PercentileObserver")
      .def(py::init<QScheme, double>(), py::arg("scheme") = QScheme{}, py::arg("percentile") = 99.99);
  py::class_<MseObserver, SampleObserver>(m, "MseObserver")
      .def(py::init<QScheme, int>(), py::arg("scheme") = QScheme{}, py::arg("steps") = 100);
  m.def("percentile", [](py::handle values, double p) {
          return percentile(to_tensor(values).to(DType::Float32).contiguous().to_vector<float>(), p);
        }, py::arg("values"), py::arg("p"), "NumPy's default (linear) percentile, p in [0, 100]");

  // --- quant/math/metrics.h ------------------------------------------------------------------
  m.def("mse", [](py::handle x, py::handle x_hat) { return mse(to_tensor(x), to_tensor(x_hat)); },
        py::arg("x"), py::arg("x_hat"));
  m.def("sqnr_db", [](py::handle x, py::handle x_hat) { return sqnr_db(to_tensor(x), to_tensor(x_hat)); },
        py::arg("x"), py::arg("x_hat"));
  m.def("clipped_fraction", [](py::handle x, const QParams& qp) { return clipped_fraction(to_tensor(x), qp); },
        py::arg("x"), py::arg("qparams"));

  // --- quant/math/nonlinear.h ----------------------------------------------------------------
  py::class_<Codebook>(m, "Codebook", "k-means weights: centroids (ascending) and each weight's index")
      .def_readonly("centroids", &Codebook::centroids)
      .def_readonly("indices", &Codebook::indices)
      .def_readonly("iterations", &Codebook::iterations)
      .def("reconstruct", &Codebook::reconstruct);
  m.def("kmeans_quantize", [](py::handle w, int bits, int max_iterations) {
          const Tensor t = to_tensor(w);
          py::gil_scoped_release release;
          return kmeans_quantize(t, {.bits = bits, .max_iterations = max_iterations});
        }, py::arg("weight"), py::arg("bits") = 4, py::arg("max_iterations") = 50);
  m.def("codebook_reconstruct", [](py::handle c, py::handle i) { return codebook_reconstruct(to_tensor(c), to_tensor(i)); },
        py::arg("centroids"), py::arg("indices"));
  m.def("codebook_gradient", [](py::handle i, py::handle g, int64_t n) {
          return codebook_gradient(to_tensor(i), to_tensor(g), n);
        }, py::arg("indices"), py::arg("weight_grad"), py::arg("n_clusters"));
  py::class_<PowerOfTwo>(m, "PowerOfTwo", "power-of-two weights: int8 codes sign * (k - k_min + 1), 0 for zero")
      .def_readonly("codes", &PowerOfTwo::codes)
      .def_readonly("k_min", &PowerOfTwo::k_min)
      .def_readonly("k_max", &PowerOfTwo::k_max)
      .def("reconstruct", &PowerOfTwo::reconstruct);
  m.def("power_of_two_quantize", [](py::handle w, int bits) {
          const Tensor t = to_tensor(w);
          py::gil_scoped_release release;
          return power_of_two_quantize(t, bits);
        }, py::arg("weight"), py::arg("bits"));
  py::class_<IntCodebook>(m, "IntCodebook", "a non-linear weight on the integer grid: scale * levels[indices]")
      .def_readonly("bits", &IntCodebook::bits)
      .def_readonly("levels", &IntCodebook::levels)
      .def_readonly("indices", &IntCodebook::indices)
      .def_readonly("scale", &IntCodebook::scale)
      .def("codes", &IntCodebook::codes)
      .def("reconstruct", &IntCodebook::reconstruct)
      .def("qparams", &IntCodebook::qparams);
  m.def("int_codebook", [](py::handle w, const std::string& method, int bits) {
          const WeightMethod wm = parse_weight_method(method);
          const Tensor t = to_tensor(w);
          py::gil_scoped_release release;
          return int_codebook(t, wm, bits);
        }, py::arg("weight"), py::arg("method"), py::arg("bits"), "method: 'kmeans' or 'pow2'");

  // --- quant/math/packing.h ------------------------------------------------------------------
  using I8 = py::array_t<int8_t, py::array::c_style>;
  using U8 = py::array_t<uint8_t, py::array::c_style>;
  auto bytes_array = [](const std::vector<uint8_t>& v) { return U8(static_cast<py::ssize_t>(v.size()), v.data()); };
  m.def("storage_bits", &storage_bits, py::arg("bits"));
  m.def("packed_bytes", &packed_bytes, py::arg("n"), py::arg("bits"));
  m.def("pack_codes", [bytes_array](const I8& codes, int bits) {
          return bytes_array(pack_codes(codes.data(), codes.size(), bits));
        }, py::arg("codes"), py::arg("bits"), "int8 codes -> uint8 bytes, b bits each (2, 4, 8), low bits first");
  m.def("unpack_codes", [](const U8& packed, int64_t n, int bits) {
          const auto v = unpack_codes(packed.data(), packed.size(), n, bits);
          return I8(static_cast<py::ssize_t>(v.size()), v.data());
        }, py::arg("packed"), py::arg("n"), py::arg("bits"));
  m.def("pack_indices", [bytes_array](const U8& indices, int bits) {
          return bytes_array(pack_indices(indices.data(), indices.size(), bits));
        }, py::arg("indices"), py::arg("bits"));
  m.def("unpack_indices", [bytes_array](const U8& packed, int64_t n, int bits) {
          return bytes_array(unpack_indices(packed.data(), packed.size(), n, bits));
        }, py::arg("packed"), py::arg("n"), py::arg("bits"));

  // --- quant/fakequant/qconfig.h -------------------------------------------------------------
  py::class_<LayerQConfig>(m, "LayerQConfig", "How one layer is quantized (quant/fakequant/qconfig.h)")
      .def(py::init([](bool quantize, std::optional<QScheme> weight, const std::string& weight_method,
                       std::optional<QScheme> activation, const std::string& observer) {
             LayerQConfig c;
             c.quantize = quantize;
             if (weight) c.weight = *weight;
             c.weight_method = parse_weight_method(weight_method);
             if (activation) c.activation = *activation;
             c.observer = parse_observer_kind(observer);
             return c;
           }), py::arg("quantize") = true, py::arg("weight") = py::none(), py::arg("weight_method") = "linear",
           py::arg("activation") = py::none(), py::arg("observer") = "minmax",
           "weight default QScheme(8, symmetric=True, axis=0), activation QScheme(8); "
           "weight_method 'linear' | 'kmeans' | 'pow2'; observer 'minmax' | 'ema' | 'percentile' | 'mse'")
      .def_readwrite("quantize", &LayerQConfig::quantize)
      .def_readwrite("weight", &LayerQConfig::weight)
      .def_readwrite("activation", &LayerQConfig::activation)
      .def_property("weight_method", [](const LayerQConfig& c) { return to_string(c.weight_method); },
                    [](LayerQConfig& c, const std::string& s) { c.weight_method = parse_weight_method(s); })
      .def_property("observer", [](const LayerQConfig& c) { return to_string(c.observer); },
                    [](LayerQConfig& c, const std::string& s) { c.observer = parse_observer_kind(s); })
      .def("__repr__", [](const LayerQConfig& c) {
        return cat("LayerQConfig(quantize=", bool_str(c.quantize), ", weight=", scheme_repr(c.weight),
                   ", weight_method='", to_string(c.weight_method), "', activation=", scheme_repr(c.activation),
                   ", observer='", to_string(c.observer), "')");
      });

  py::class_<QConfig>(m, "QConfig", "module name -> LayerQConfig: the first matching glob rule, else the default")
      .def(py::init([](std::optional<LayerQConfig> def, const std::vector<std::pair<std::string, LayerQConfig>>& rules) {
             QConfig c;
             if (def) c.default_config = *def;
             for (const auto& [pattern, lc] : rules) c.rules.push_back({pattern, lc});
             return c;
           }), py::arg("default") = py::none(), py::arg("rules") = std::vector<std::pair<std::string, LayerQConfig>>{},
           "rules: [(glob pattern on the module's dotted name, LayerQConfig), ...], first match wins")
      .def_readwrite("default", &QConfig::default_config)
      .def_property("rules",
                    [](const QConfig& c) {
                      py::list out;
                      for (const auto& r : c.rules) out.append(py::make_tuple(r.pattern, r.config));
                      return out;
                    },
                    [](QConfig& c, const std::vector<std::pair<std::string, LayerQConfig>>& rules) {
                      c.rules.clear();
                      for (const auto& [pattern, lc] : rules) c.rules.push_back({pattern, lc});
                    })
      .def("for_module", &QConfig::for_module, py::arg("name"))
      .def("__repr__", [](const QConfig& c) { return cat("QConfig(", c.rules.size(), " rules)"); });
  m.def("glob_match", &glob_match, py::arg("pattern"), py::arg("name"));
  m.def("default_qconfig", [](const nn::Module& model, int weight_bits, int activation_bits, bool per_channel,
                              bool symmetric_weights, const std::string& weight_method, const std::string& observer,
                              bool keep_ends_8bit) {
          return default_qconfig(model, {.weight_bits = weight_bits,
                                         .activation_bits = activation_bits,
                                         .symmetric_weights = symmetric_weights,
                                         .per_channel = per_channel,
                                         .weight_method = parse_weight_method(weight_method),
                                         .observer = parse_observer_kind(observer),
                                         .keep_ends_8bit = keep_ends_8bit});
        }, py::arg("model"), py::arg("weight_bits") = 8, py::arg("activation_bits") = 8, py::arg("per_channel") = true,
        py::arg("symmetric_weights") = true, py::arg("weight_method") = "linear", py::arg("observer") = "minmax",
        py::arg("keep_ends_8bit") = true,
        "Every Conv2d/Linear at these bit widths (the first and last at 8 bits when fewer are asked "
        "and keep_ends_8bit)");

  py::class_<Sampling>(m, "Sampling", "Which samples calibrate: kind 'all' | 'uniform' | 'random'")
      .def(py::init([](const std::string& kind, int64_t count, int64_t stride, uint64_t seed) {
             return Sampling{.kind = parse_sampling_kind(kind), .count = count, .stride = stride, .seed = seed};
           }), py::arg("kind") = "all", py::arg("count") = 0, py::arg("stride") = 0, py::arg("seed") = 0)
      .def_property("kind", [](const Sampling& s) { return sampling_kind_str(s.kind); },
                    [](Sampling& s, const std::string& k) { s.kind = parse_sampling_kind(k); })
      .def_readwrite("count", &Sampling::count)
      .def_readwrite("stride", &Sampling::stride)
      .def_readwrite("seed", &Sampling::seed)
      .def("__repr__", [](const Sampling& s) {
        return cat("Sampling(kind='", sampling_kind_str(s.kind), "', count=", s.count, ", stride=", s.stride,
                   ", seed=", s.seed, ")");
      });
  m.def("calibration_indices", &calibration_indices, py::arg("sampling"), py::arg("size"),
        "The sample indices (sorted, no repeats) that sampling picks from a data set of size samples");

  // --- quant/fakequant/fake_quantize_module.h ------------------------------------------------
  py::class_<FakeQuantize, nn::Module, std::shared_ptr<FakeQuantize>>(m, "FakeQuantize",
      "A layer: observes what passes (observe on) and fake-quantizes it (fake_quant on)")
      .def(py::init([](const QScheme& scheme, const std::string& observer, bool track_current) {
             return std::make_shared<FakeQuantize>(FakeQuantizeOptions{
                 .scheme = scheme, .observer = parse_observer_kind(observer), .track_current = track_current});
           }), py::arg("scheme") = QScheme{}, py::arg("observer") = "minmax", py::arg("track_current") = false)
      .def("observe", [](FakeQuantize& self, py::handle x) {
             const Tensor t = to_tensor(x);
             py::gil_scoped_release release;
             self.observe(t);
           }, py::arg("x"), "feeds x to the observer whatever the switches say")
      .def("set_observe", &FakeQuantize::set_observe, py::arg("on"))
      .def("set_fake_quant", &FakeQuantize::set_fake_quant, py::arg("on"))
      .def_property_readonly("observing", &FakeQuantize::observing)
      .def_property_readonly("fake_quantizing", &FakeQuantize::fake_quantizing)
      .def_property_readonly("has_qparams", &FakeQuantize::has_qparams)
      .def("qparams", &FakeQuantize::qparams, "the current QParams (fails before anything was observed)")
      .def_property_readonly("scheme", [](const FakeQuantize& self) { return self.options().scheme; })
      .def_property_readonly("observer", [](const FakeQuantize& self) { return to_string(self.options().observer); });
  m.def("set_observe", [](nn::Module& module, bool on) { set_observe(module, on); }, py::arg("module"), py::arg("on"),
        "Sets the observe switch of every FakeQuantize in module");
  m.def("set_fake_quant", [](nn::Module& module, bool on) { set_fake_quant(module, on); }, py::arg("module"),
        py::arg("on"), "Sets the fake-quant switch of every FakeQuantize in module");

  // --- quant/fakequant/prepare.h -------------------------------------------------------------
  m.def("prepare", [](const std::shared_ptr<nn::Module>& model, std::optional<QConfig> qconfig, py::handle example) {
          return run_prepare("prepare", &prepare, &prepare, model, qconfig, example);
        }, py::arg("model"), py::arg("qconfig") = py::none(), py::arg("example") = py::none(),
        "The fake-quant twin of model (a new Sequential; observers on, fake quantization off). A "
        "Sequential needs no example; any other Module is traced by one forward on example. qconfig "
        "None: default_qconfig(model).");
  m.def("prepare_qat", [](const std::shared_ptr<nn::Module>& model, std::optional<QConfig> qconfig, py::handle example) {
          return run_prepare("prepare_qat", &prepare_qat, &prepare_qat, model, qconfig, example);
        }, py::arg("model"), py::arg("qconfig") = py::none(), py::arg("example") = py::none(),
        "As prepare, with observers and fake quantization both on (train it as usual)");

  // --- quant/intmodel/input_spec.h -----------------------------------------------------------
  py::class_<InputSpec>(m, "InputSpec", "The preprocessing an integer model's input expects: "
                                        "x = (pixels / 255 - mean[c]) / std[c], NCHW")
      .def(py::init([](const std::vector<int64_t>& shape, std::vector<float> mean, std::vector<float> std) {
             if (shape.size() != 3)
               throw py::value_error(cat("qgrad.quant.InputSpec: shape is (C, H, W), got ", shape.size(), " numbers"));
             return InputSpec{.shape = {shape[0], shape[1], shape[2]}, .mean = std::move(mean), .std = std::move(std)};
           }), py::arg("shape"), py::arg("mean"), py::arg("std"))
      .def_property_readonly("shape", [](const InputSpec& s) {
        return py::make_tuple(s.shape.channels, s.shape.height, s.shape.width);
      })
      .def_readonly("mean", &InputSpec::mean)
      .def_readonly("std", &InputSpec::std)
      .def("__repr__", [](const InputSpec& s) { return cat("InputSpec(", describe(s), ")"); });
  m.def("normalize_pixels", [](const InputSpec& spec, py::handle pixels) {
          const Tensor t = to_tensor(pixels);
          py::gil_scoped_release release;
          return normalize_pixels(spec, t);
        }, py::arg("spec"), py::arg("pixels"), "uint8 [N, C, H, W] -> float32, exactly as the data loader");

  // --- quant/intmodel/convert.h --------------------------------------------------------------
  py::class_<IntModel, nn::Module, std::shared_ptr<IntModel>>(m, "IntModel",
      "The integer-only network convert() builds: model(x) float -> float, forward_int uint8 -> uint8")
      .def("forward_int", [](const IntModel& self, py::handle q) {
             const Tensor t = to_tensor(q);
             py::gil_scoped_release release;
             return self.forward_int(t);
           }, py::arg("q"), "input codes uint8 (NCHW for images) -> output codes uint8")
      .def("predict_pixels", [](const IntModel& self, py::handle pixels) {
             const Tensor t = to_tensor(pixels);
             PixelPrediction p;
             {
               py::gil_scoped_release release;
               p = self.predict_pixels(t);
             }
             return py::make_tuple(p.codes, py::array_t<int32_t>(static_cast<py::ssize_t>(p.labels.size()), p.labels.data()));
           }, py::arg("pixels"), "raw uint8 [N, C, H, W] images -> (output codes uint8 [N, K], labels int32 [N]); "
                                 "needs input_spec")
      .def_readwrite("input_qparams", &IntModel::input_qparams)
      .def_readwrite("output_qparams", &IntModel::output_qparams)
      .def_readwrite("input_spec", &IntModel::input_spec)
      .def_property_readonly("layers", [](const IntModel& self) {
        py::list out;
        for (const auto& l : self.layers) out.append(l->describe());
        return out;
      }, "one line per integer layer, as in the file's metadata")
      .def_property_readonly("layer_kinds", [](const IntModel& self) {
        py::list out;
        for (const auto& l : self.layers) out.append(l->name());
        return out;
      })
      .def("options_str", &IntModel::options_str)
      .def("save", [](const IntModel& self, py::handle path, const py::dict& metadata) {
             const std::string p = path_arg(path);
             const nn::Metadata meta = metadata_arg(metadata);
             py::gil_scoped_release release;
             save_int_model(p, self, meta);
           }, py::arg("path"), py::arg("metadata") = py::dict(),
           "Writes the safetensors file (quant/intmodel/int_model_file.h); metadata keys must not start with 'qgrad.'");
  m.def("convert", [](const nn::Sequential& prepared) {
          py::gil_scoped_release release;
          return convert(prepared);
        }, py::arg("prepared"), "A prepared, calibrated (or QAT-trained) Sequential -> IntModel");

  // --- quant/intmodel/int_model_file.h -------------------------------------------------------
  py::class_<IntModelFile>(m, "IntModelFile", "An integer model file read back: model, metadata, sizes")
      .def_readonly("model", &IntModelFile::model)
      .def_property_readonly("metadata", [](const IntModelFile& f) { return metadata_dict(f.metadata); })
      .def_readonly("layer_bytes", &IntModelFile::layer_bytes)
      .def_readonly("io_bytes", &IntModelFile::io_bytes);
  m.def("save_int_model", [](py::handle path, const IntModel& model, const py::dict& metadata) {
          const std::string p = path_arg(path);
          const nn::Metadata meta = metadata_arg(metadata);
          py::gil_scoped_release release;
          save_int_model(p, model, meta);
        }, py::arg("path"), py::arg("model"), py::arg("metadata") = py::dict());
  m.def("read_int_model", [](py::handle path) {
          const std::string p = path_arg(path);
          py::gil_scoped_release release;
          return read_int_model(p);
        }, py::arg("path"));
  m.def("load_int_model", [](py::handle path) {
          const std::string p = path_arg(path);
          py::gil_scoped_release release;
          return load_int_model(p);
        }, py::arg("path"));
  m.def("is_int_model", [](const py::dict& metadata) { return is_int_model(metadata_arg(metadata)); },
        py::arg("metadata"));

  // --- quant/intmodel/int_model_report.h -----------------------------------------------------
  m.def("report", [](py::handle path_or_file, const py::dict& float_weights) {
          IntModelFile owned;
          const IntModelFile* file = nullptr;
          if (py::isinstance<IntModelFile>(path_or_file)) {
            file = &path_or_file.cast<const IntModelFile&>();
          } else {
            const std::string p = path_arg(path_or_file);
            py::gil_scoped_release release;
            owned = read_int_model(p);
            file = &owned;
          }
          std::vector<LayerReport> rows = report_int_model(*file);
          for (auto [k, w] : float_weights) {
            const auto i = k.cast<int64_t>();
            if (i < 0 || i >= static_cast<int64_t>(rows.size()) || !file->model->layers[static_cast<size_t>(i)]->gemm())
              throw py::index_error(cat("qgrad.quant.report: float_weights[", i, "]: no quantized layer ", i));
            add_float_weight(rows[static_cast<size_t>(i)], *file->model->layers[static_cast<size_t>(i)]->gemm(),
                             to_tensor(w));
          }
          py::list out;
          for (const auto& r : rows) out.append(report_dict(r));
          return out;
        }, py::arg("path_or_file"), py::arg("float_weights") = py::dict(),
        "What `inspect` prints, one dict per layer; float_weights {layer index: float weight} adds "
        "sqnr_db and clipped_fraction");
  m.def("histogram", [](py::handle values, double clip_lo, double clip_hi, int bins) {
          const Histogram h = histogram(to_tensor(values).to(DType::Float32).contiguous().to_vector<float>(),
                                        clip_lo, clip_hi, bins);
          py::dict d;
          d["edges"] = h.edges;
          d["counts"] = h.counts;
          d["clip_lo"] = h.clip_lo;
          d["clip_hi"] = h.clip_hi;
          d["below"] = h.below;
          d["above"] = h.above;
          return d;
        }, py::arg("values"), py::arg("clip_lo"), py::arg("clip_hi"), py::arg("bins") = 64,
        "bins equal bins over [min(clip_lo, data), max(clip_hi, data)]: a dict edges, counts, clip_lo, "
        "clip_hi, below, above");

  // --- quant/intmodel/dynamic.h --------------------------------------------------------------
  py::class_<DynamicQuantLinear, nn::Module, std::shared_ptr<DynamicQuantLinear>>(m, "DynamicQuantLinear",
      "A Linear with int8 weights and activations quantized per batch (inference only)")
      .def_static("input_qparams", [](py::handle x) { return DynamicQuantLinear::input_qparams(to_tensor(x)); },
                  py::arg("x"))
      .def("accumulate", [](const DynamicQuantLinear& self, py::handle x, const QParams& qp) {
             const Tensor t = to_tensor(x);
             py::gil_scoped_release release;
             return self.accumulate(t, qp);
           }, py::arg("x"), py::arg("x_qparams"))
      .def_property_readonly("qweight", &DynamicQuantLinear::qweight)
      .def_property_readonly("weight_qparams", &DynamicQuantLinear::weight_qparams)
      .def_property_readonly("bias", [](const DynamicQuantLinear& self) -> py::object {
        return self.bias().defined() ? py::cast(self.bias()) : py::none();
      })
      .def("weight_bytes", &DynamicQuantLinear::weight_bytes);
  m.def("quantize_dynamic", [](const nn::Sequential& model) {
          py::gil_scoped_release release;
          return quantize_dynamic(model);
        }, py::arg("model"), "A new Sequential with every Linear replaced by a DynamicQuantLinear "
                             "(other modules shared: call eval() on the result)");
}

}  // namespace qgrad::python
