// qgrad.nn: Module (subclassable from Python), the layers, losses, initializers, checkpoints
// and the model zoo.
//
// A Python subclass of Module is a C++ nn::Module underneath (the PyModule trampoline below):
// its forward is the Python method, and the attributes it assigns register with the C++ module
// (a Module as a child, a leaf tensor that requires grad as a parameter), so parameters(),
// state_dict(), train()/eval(), checkpoints and quant.prepare see them as they see C++ layers.
//
// Constructor keywords are PyTorch's; each maps onto the C++ options struct (nn/*.h):
//   Python                                                        C++
//   Linear(in_features, out_features, bias=True)                  LinearOptions{in, out, bias}
//   Conv2d(in_channels, out_channels, kernel_size, stride=1,      Conv2dOptions{in, out, kernel,
//          padding=0, dilation=1, groups=1, bias=True)              kernel_w, stride, padding,
//          kernel_size: int, or (h, w) -> kernel=h, kernel_w=w      dilation, groups, bias}
//   MaxPool2d/AvgPool2d(kernel_size=2, stride=None, padding=0)    Pool2dOptions{kernel, stride
//                                                                   (None -> 0 = kernel), padding}
//   GlobalAvgPool(keepdim=False)                                  GlobalAvgPoolOptions{keepdim}
//   BatchNorm1d/2d(num_features, eps=1e-5, momentum=0.1,          BatchNormOptions{features, eps,
//                  affine=True)                                     momentum, affine}
//   Dropout(p=0.5)                                                DropoutOptions{p}
//   Flatten(start_dim=1, end_dim=-1)                              FlattenOptions{start, end}
//   LeakyReLU(negative_slope=0.01)                                LeakyReLUOptions{negative_slope}
//   ReLU(), Sigmoid(), Tanh(), GELU(), Identity()                 (no options)
//   Residual(body, shortcut=None)                                 Residual(body[, shortcut])
//   BasicBlock(in_channels, out_channels, stride=1)               BasicBlockOptions{in, out, stride}
//   Add()(a, b)                                                   Add::operator()(a, b)
//   CrossEntropyLoss()(logits, targets), MSELoss()(pred, target)  nn/loss.h functors
// Layers draw their initial weights from the default generator (qgrad.manual_seed), as the C++
// constructors do when given no Generator; so do the initializers in qgrad.nn.init.
#include <optional>
#include <sstream>
#include <type_traits>

#include "bindings.h"
#include "examples/common/models.h"

namespace qgrad::python {

namespace {

class PyModule : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override {
    py::gil_scoped_acquire gil;
    if (py::function f = py::get_override(this, "forward")) {
      py::object y = f(x);
      if (!py::isinstance<Tensor>(y))
        throw py::type_error(cat("qgrad.nn.Module: ", type_name(), ".forward returned ",
                                 std::string(py::str(py::type::of(y).attr("__name__"))),
                                 ", not a qgrad.Tensor"));
      return y.cast<Tensor>();
    }
    throw Error(cat("qgrad::Module: ", type_name(), " defines no forward(self, x); a subclass of "
                    "qgrad.nn.Module must (and must call super().__init__() first)"));
  }
  // The Python class's name ("Net"), unless the class defines type_name() itself.
  std::string type_name() const override {
    py::gil_scoped_acquire gil;
    if (py::function f = py::get_override(this, "type_name")) return f().cast<std::string>();
    py::object self = py::cast(this);
    return py::str(py::type::of(self).attr("__name__"));
  }
  void add_module(const std::string& name, std::shared_ptr<nn::Module> m) { register_module(name, std::move(m)); }
  Tensor add_parameter(const std::string& name, const Tensor& t) { return register_parameter(name, t); }
  Tensor add_buffer(const std::string& name, const Tensor& t) { return register_buffer(name, t); }
};

PyModule& python_module(nn::Module& m, const char* op) {
  auto* p = dynamic_cast<PyModule*>(&m);
  if (!p)
    throw Error(cat("qgrad::", op, ": ", m.type_name(), " is a built-in layer; only a Python "
                    "subclass of qgrad.nn.Module registers new members"));
  return *p;
}

bool has_child(const nn::Module& m, const std::string& name) {
  for (const auto& [n, _] : m.children())
    if (n == name) return true;
  return false;
}

bool registered(const nn::Module& m, const std::string& name) {
  if (has_child(m, name)) return true;
  for (const auto& [n, _] : m.named_parameters())
    if (n == name) return true;
  for (const auto& [n, _] : m.named_buffers())
    if (n == name) return true;
  return false;
}

py::list pairs(const std::vector<std::pair<std::string, Tensor>>& v) {
  py::list out;
  for (const auto& [name, t] : v) out.append(py::make_tuple(name, t));
  return out;
}

// An optional C++ tensor (an undefined bias, say) as a Python object: the tensor or None.
py::object opt_tensor(const Tensor& t) { return t.defined() ? py::cast(t) : py::none(); }

// kernel_size given as an int or an (h, w) pair -> (h, w).
std::pair<int64_t, int64_t> pair_arg(py::handle obj, const char* op, const char* what) {
  if (py::isinstance<py::int_>(obj)) {
    const auto v = obj.cast<int64_t>();
    return {v, v};
  }
  if (py::isinstance<py::sequence>(obj) && !py::isinstance<py::str>(obj) && py::len(obj) == 2) {
    auto seq = py::reinterpret_borrow<py::sequence>(obj);
    if (py::isinstance<py::int_>(seq[0]) && py::isinstance<py::int_>(seq[1]))
      return {seq[0].cast<int64_t>(), seq[1].cast<int64_t>()};
  }
  throw py::type_error(cat("qgrad.nn.", op, ": ", what, " must be an int or a pair of ints"));
}

// stride/padding/dilation: C++ has one value for both axes, so a pair must repeat it.
int64_t square_arg(py::handle obj, const char* op, const char* what) {
  auto [h, w] = pair_arg(obj, op, what);
  if (h != w)
    throw py::value_error(cat("qgrad.nn.", op, ": ", what, " must be the same along both axes (",
                              h, " != ", w, "); only kernel_size may be non-square"));
  return h;
}

nn::init::Nonlinearity nonlinearity_arg(const std::string& name) {
  using N = nn::init::Nonlinearity;
  if (name == "linear" || name == "identity" || name == "conv2d") return N::Linear;
  if (name == "sigmoid") return N::Sigmoid;
  if (name == "tanh") return N::Tanh;
  if (name == "relu") return N::ReLU;
  if (name == "leaky_relu") return N::LeakyReLU;
  throw py::value_error(cat("qgrad.nn.init: unknown nonlinearity '", name,
                            "' (known: linear, sigmoid, tanh, relu, leaky_relu)"));
}

nn::init::KaimingOptions kaiming_arg(float a, const std::string& mode, const std::string& nonlinearity) {
  if (mode != "fan_in" && mode != "fan_out")
    throw py::value_error(cat("qgrad.nn.init: mode must be 'fan_in' or 'fan_out', got '", mode, "'"));
  return {.a = a, .mode = mode == "fan_in" ? nn::init::FanMode::FanIn : nn::init::FanMode::FanOut,
          .nonlinearity = nonlinearity_arg(nonlinearity)};
}

// A checkpoint as a dict: model / optimizer state dicts, epoch, step, metadata.
py::dict checkpoint_dict(const nn::Checkpoint& c) {
  py::dict d;
  d["model"] = c.model;
  d["optimizer"] = c.optimizer;
  d["epoch"] = c.training.epoch;
  d["step"] = c.training.step;
  d["metadata"] = c.metadata;
  return d;
}

// The class_ of a built-in layer: a Module subclass held by shared_ptr.
template <class L>
using Layer = py::class_<L, nn::Module, std::shared_ptr<L>>;

}  // namespace

nn::StateDict state_dict_arg(const py::dict& d) {
  nn::StateDict sd;
  for (auto [k, v] : d) sd[k.cast<std::string>()] = to_tensor(v);
  return sd;
}

nn::Metadata metadata_arg(const py::dict& d) {
  nn::Metadata md;
  for (auto [k, v] : d) md[py::str(k).cast<std::string>()] = py::str(v).cast<std::string>();
  return md;
}

void bind_nn(py::module_& m) {
  py::class_<nn::Module, PyModule, std::shared_ptr<nn::Module>>(m, "Module", R"doc(
The base of every layer. Subclass it in Python: call super().__init__(), assign layers (and
parameters: leaf tensors with requires_grad) as attributes, and write forward(x).)doc")
      .def(py::init<>())
      .def("forward", &nn::Module::forward, py::arg("x"), release_gil())
      .def("__call__", [](py::object self, py::args args) -> py::object {
        // One tensor: through the C++ call (so hooks such as quant.trace see it), GIL released
        // for C++ layers (a Python forward takes it back). Several: the Python forward directly.
        if (args.size() == 1 && py::isinstance<Tensor>(args[0])) {
          auto& mod = self.cast<nn::Module&>();
          Tensor x = args[0].cast<Tensor>();
          Tensor y;
          {
            py::gil_scoped_release release;
            y = mod(x);
          }
          return py::cast(y);
        }
        return self.attr("forward")(*args);
      })
      .def("type_name", &nn::Module::type_name)
      .def("parameters", &nn::Module::parameters)
      .def("named_parameters", [](const nn::Module& self) { return pairs(self.named_parameters()); })
      .def("named_buffers", [](const nn::Module& self) { return pairs(self.named_buffers()); })
      .def("named_modules", [](const nn::Module& self) {
        py::list out;
        for (const auto& [name, mod] : self.named_modules()) out.append(py::make_tuple(name, mod));
        return out;
      })
      .def("named_children", [](const nn::Module& self) {
        py::list out;
        for (const auto& [name, mod] : self.children()) out.append(py::make_tuple(name, mod));
        return out;
      })
      .def("children", [](const nn::Module& self) {
        py::list out;
        for (const auto& [name, mod] : self.children()) out.append(mod);
        return out;
      })
      .def("num_parameters", &nn::Module::num_parameters)
      .def("train", [](py::object self, bool on) { self.cast<nn::Module&>().train(on); return self; },
           py::arg("mode") = true)
      .def("eval", [](py::object self) { self.cast<nn::Module&>().eval(); return self; })
      .def_property_readonly("training", &nn::Module::is_training)
      .def("zero_grad", &nn::Module::zero_grad)
      .def("to", [](py::object self, const std::string& device) {
             self.cast<nn::Module&>().to(parse_device(device));
             return self;
           }, py::arg("device"), "Moves parameters and buffers to 'cpu' or 'cuda' in place; returns self")
      .def_property_readonly("device", [](const nn::Module& self) { return device_name(self.device()); })
      .def("state_dict", &nn::Module::state_dict,
           "name -> tensor, sharing memory with the module (clone() to keep a snapshot)")
      .def("load_state_dict", [](nn::Module& self, const py::dict& sd) { self.load_state_dict(state_dict_arg(sd)); },
           py::arg("state_dict"), "Strict: every name, shape and dtype must match (values: tensors or arrays)")
      .def("__repr__", &nn::Module::repr)
      .def("summary", [](nn::Module& self, py::object input_shape) {
        std::ostringstream os;
        const Shape shape = shape_arg(input_shape, "summary");
        py::gil_scoped_release release;  // runs a forward (a Python one takes the GIL back)
        self.summary(shape, os);
        return os.str();
      }, py::arg("input_shape"), "The layer-by-layer table, as a string (print it)")
      .def("add_module", [](nn::Module& self, const std::string& name, std::shared_ptr<nn::Module> child) {
        python_module(self, "add_module").add_module(name, std::move(child));
      }, py::arg("name"), py::arg("module"))
      .def("register_parameter", [](nn::Module& self, const std::string& name, const Tensor& t) {
        return python_module(self, "register_parameter").add_parameter(name, t);
      }, py::arg("name"), py::arg("tensor"))
      .def("register_buffer", [](nn::Module& self, const std::string& name, const Tensor& t) {
        return python_module(self, "register_buffer").add_buffer(name, t);
      }, py::arg("name"), py::arg("tensor"))
      .def("__setattr__", [](py::object self, const std::string& name, py::object value) {
        // Register first (it may fail with a clear error), then store the attribute: the Python
        // object keeps the child alive for as long as the parent lives.
        auto& mod = self.cast<nn::Module&>();
        if (auto* pm = dynamic_cast<PyModule*>(&mod); pm && !name.starts_with("_")) {
          if (py::isinstance<nn::Module>(value)) {
            auto child = value.cast<std::shared_ptr<nn::Module>>();
            // Assigning over a child swaps it in place (eager-mode quantization does this).
            if (has_child(mod, name)) pm->replace_module(name, std::move(child));
            else pm->add_module(name, std::move(child));
          } else if (py::isinstance<Tensor>(value) && !registered(mod, name)) {
            Tensor t = value.cast<Tensor>();
            if (t.requires_grad() && t.is_leaf()) pm->add_parameter(name, t);
          }
        }
        py::module_::import("builtins").attr("object").attr("__setattr__")(self, name, value);
      });

  py::class_<nn::Sequential, nn::Module, std::shared_ptr<nn::Sequential>>(m, "Sequential")
      .def(py::init([](py::args modules) {
        auto seq = std::make_shared<nn::Sequential>();
        for (py::handle h : modules) seq->add(h.cast<std::shared_ptr<nn::Module>>());
        return seq;
      }), py::keep_alive<1, 2>())  // the args tuple: a Python child's forward lives in its object
      .def("append", [](nn::Sequential& self, std::shared_ptr<nn::Module> mod) { self.add(std::move(mod)); },
           py::arg("module"), py::keep_alive<1, 2>())
      .def("__len__", &nn::Sequential::size)
      .def("__getitem__", [](const nn::Sequential& self, int64_t i) {
        const auto n = static_cast<int64_t>(self.size());
        if (i < -n || i >= n) throw py::index_error(cat("Sequential index ", i, " out of range (", n, " modules)"));
        return self[static_cast<size_t>(i < 0 ? i + n : i)];
      });

  // --- layers (constructor keywords: the table at the top of this file) ---------------------
  Layer<nn::Linear>(m, "Linear", "y = x W^T + b (nn/linear.h)")
      .def(py::init([](int64_t in, int64_t out, bool bias) {
             return std::make_shared<nn::Linear>(nn::LinearOptions{.in = in, .out = out, .bias = bias});
           }), py::arg("in_features"), py::arg("out_features"), py::arg("bias") = true)
      .def_property_readonly("weight", [](const nn::Linear& l) { return l.weight(); })
      .def_property_readonly("bias", [](const nn::Linear& l) { return opt_tensor(l.bias()); })
      .def_property_readonly("in_features", [](const nn::Linear& l) { return l.options().in; })
      .def_property_readonly("out_features", [](const nn::Linear& l) { return l.options().out; });

  Layer<nn::Conv2d>(m, "Conv2d", "2-D convolution over NCHW images (nn/conv2d.h)")
      .def(py::init([](int64_t in, int64_t out, py::object kernel, py::object stride, py::object padding,
                       py::object dilation, int64_t groups, bool bias) {
             auto [kh, kw] = pair_arg(kernel, "Conv2d", "kernel_size");
             nn::Conv2dOptions o{.in = in, .out = out, .kernel = kh, .kernel_w = kw == kh ? 0 : kw,
                                 .stride = square_arg(stride, "Conv2d", "stride"),
                                 .padding = square_arg(padding, "Conv2d", "padding"),
                                 .dilation = square_arg(dilation, "Conv2d", "dilation"),
                                 .groups = groups, .bias = bias};
             return std::make_shared<nn::Conv2d>(o);
           }), py::arg("in_channels"), py::arg("out_channels"), py::arg("kernel_size"), py::arg("stride") = 1,
           py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1, py::arg("bias") = true)
      .def_property_readonly("weight", [](const nn::Conv2d& l) { return l.weight(); })
      .def_property_readonly("bias", [](const nn::Conv2d& l) { return opt_tensor(l.bias()); })
      .def_property_readonly("in_channels", [](const nn::Conv2d& l) { return l.options().in; })
      .def_property_readonly("out_channels", [](const nn::Conv2d& l) { return l.options().out; })
      .def_property_readonly("kernel_size", [](const nn::Conv2d& l) { return py::make_tuple(l.kernel_h(), l.kernel_w()); })
      .def_property_readonly("stride", [](const nn::Conv2d& l) { return l.options().stride; })
      .def_property_readonly("padding", [](const nn::Conv2d& l) { return l.options().padding; })
      .def_property_readonly("dilation", [](const nn::Conv2d& l) { return l.options().dilation; })
      .def_property_readonly("groups", [](const nn::Conv2d& l) { return l.options().groups; });

  // Activations and other option-free layers.
  Layer<nn::ReLU>(m, "ReLU").def(py::init<>());
  Layer<nn::Sigmoid>(m, "Sigmoid").def(py::init<>());
  Layer<nn::Tanh>(m, "Tanh").def(py::init<>());
  Layer<nn::GELU>(m, "GELU").def(py::init<>());
  Layer<nn::Identity>(m, "Identity").def(py::init<>());
  Layer<nn::LeakyReLU>(m, "LeakyReLU")
      .def(py::init([](float slope) { return std::make_shared<nn::LeakyReLU>(nn::LeakyReLUOptions{slope}); }),
           py::arg("negative_slope") = 0.01f);

  // Pools: stride None means "= kernel_size" (the C++ stride 0).
  auto pool = [&m](auto tag, const char* name) {
    using L = typename decltype(tag)::type;
    Layer<L>(m, name)
        .def(py::init([](int64_t k, std::optional<int64_t> s, int64_t p) {
               return std::make_shared<L>(Pool2dOptions{.kernel = k, .stride = s.value_or(0), .padding = p});
             }), py::arg("kernel_size") = 2, py::arg("stride") = py::none(), py::arg("padding") = 0)
        .def_property_readonly("kernel_size", [](const L& l) { return l.options().kernel; })
        .def_property_readonly("stride", [](const L& l) { return l.options().stride; })
        .def_property_readonly("padding", [](const L& l) { return l.options().padding; });
  };
  pool(std::type_identity<nn::MaxPool2d>{}, "MaxPool2d");
  pool(std::type_identity<nn::AvgPool2d>{}, "AvgPool2d");
  Layer<nn::GlobalAvgPool>(m, "GlobalAvgPool", "mean over H, W: [N, C, H, W] -> [N, C] ([N, C, 1, 1] with keepdim)")
      .def(py::init([](bool keepdim) { return std::make_shared<nn::GlobalAvgPool>(nn::GlobalAvgPoolOptions{keepdim}); }),
           py::arg("keepdim") = false);

  // BatchNorm: the shared base carries the parameters, buffers and options.
  Layer<nn::BatchNorm>(m, "_BatchNorm")
      .def_property_readonly("weight", [](const nn::BatchNorm& l) { return opt_tensor(l.weight()); })
      .def_property_readonly("bias", [](const nn::BatchNorm& l) { return opt_tensor(l.bias()); })
      .def_property_readonly("running_mean", [](const nn::BatchNorm& l) { return l.running_mean(); })
      .def_property_readonly("running_var", [](const nn::BatchNorm& l) { return l.running_var(); })
      .def_property_readonly("num_features", [](const nn::BatchNorm& l) { return l.options().features; })
      .def_property_readonly("eps", [](const nn::BatchNorm& l) { return l.options().eps; })
      .def_property_readonly("momentum", [](const nn::BatchNorm& l) { return l.options().momentum; })
      .def_property_readonly("affine", [](const nn::BatchNorm& l) { return l.options().affine; });
  auto bn_options = [](int64_t features, float eps, float momentum, bool affine) {
    return nn::BatchNormOptions{.features = features, .eps = eps, .momentum = momentum, .affine = affine};
  };
  py::class_<nn::BatchNorm1d, nn::BatchNorm, std::shared_ptr<nn::BatchNorm1d>>(m, "BatchNorm1d")
      .def(py::init([bn_options](int64_t c, float eps, float momentum, bool affine) {
             return std::make_shared<nn::BatchNorm1d>(bn_options(c, eps, momentum, affine));
           }), py::arg("num_features"), py::arg("eps") = 1e-5f, py::arg("momentum") = 0.1f, py::arg("affine") = true);
  py::class_<nn::BatchNorm2d, nn::BatchNorm, std::shared_ptr<nn::BatchNorm2d>>(m, "BatchNorm2d")
      .def(py::init([bn_options](int64_t c, float eps, float momentum, bool affine) {
             return std::make_shared<nn::BatchNorm2d>(bn_options(c, eps, momentum, affine));
           }), py::arg("num_features"), py::arg("eps") = 1e-5f, py::arg("momentum") = 0.1f, py::arg("affine") = true);

  Layer<nn::Dropout>(m, "Dropout", "inverted dropout; its mask generator is seeded from the default generator")
      .def(py::init([](float p) { return std::make_shared<nn::Dropout>(nn::DropoutOptions{p}); }), py::arg("p") = 0.5f);
  Layer<nn::Flatten>(m, "Flatten")
      .def(py::init([](int64_t start, int64_t end) {
             return std::make_shared<nn::Flatten>(nn::FlattenOptions{.start = start, .end = end});
           }), py::arg("start_dim") = 1, py::arg("end_dim") = -1);

  // Residual and BasicBlock hold their children; keep_alive keeps a Python-subclass child's
  // Python half (its forward) alive as long as the parent.
  Layer<nn::Residual>(m, "Residual", "y = body(x) + shortcut(x) (identity shortcut when None)")
      .def(py::init([](std::shared_ptr<nn::Module> body, std::shared_ptr<nn::Module> shortcut) {
             if (!body) throw py::type_error("qgrad.nn.Residual: body must be a Module");
             return shortcut ? std::make_shared<nn::Residual>(body, shortcut) : std::make_shared<nn::Residual>(body);
           }), py::arg("body"), py::arg("shortcut") = py::none(), py::keep_alive<1, 2>(), py::keep_alive<1, 3>());
  py::class_<nn::BasicBlock, nn::Residual, std::shared_ptr<nn::BasicBlock>>(m, "BasicBlock")
      .def(py::init([](int64_t in, int64_t out, int64_t stride) {
             return std::make_shared<nn::BasicBlock>(nn::BasicBlockOptions{.in = in, .out = out, .stride = stride});
           }), py::arg("in_channels"), py::arg("out_channels"), py::arg("stride") = 1);

  // Add is called with two tensors (the C++ two-input call, which reports itself to tracers).
  Layer<nn::Add>(m, "Add", "y = a + b as a module: add(a, b)")
      .def(py::init<>())
      .def("__call__", [](nn::Add& self, const Tensor& a, const Tensor& b) { return self(a, b); },
           py::arg("a"), py::arg("b"), release_gil())
      .def("forward", [](nn::Add& self, const Tensor& a, const Tensor& b) { return self(a, b); },
           py::arg("a"), py::arg("b"), release_gil());

  // --- losses (nn/loss.h): stateless objects called with (prediction, target)
  py::class_<nn::CrossEntropyLoss>(m, "CrossEntropyLoss", "logits [N, C] float32, targets [N] int32 -> scalar")
      .def(py::init<>())
      .def("__call__", [](const nn::CrossEntropyLoss& f, const Tensor& logits, const Tensor& targets) {
        return f(logits, targets);
      }, py::arg("logits"), py::arg("targets"), release_gil());
  py::class_<nn::MSELoss>(m, "MSELoss", "mean of (pred - target)^2 -> scalar")
      .def(py::init<>())
      .def("__call__", [](const nn::MSELoss& f, const Tensor& pred, const Tensor& target) { return f(pred, target); },
           py::arg("pred"), py::arg("target"), release_gil());

  // --- initializers (nn/init.h): in place, from the default generator; each returns the tensor
  py::module_ init = m.def_submodule("init", "weight initializers (nn/init.h), in place");
  init.def("uniform_", [](Tensor& w, float a, float b) -> Tensor& {
    nn::init::uniform_(w, a, b, default_generator());
    return w;
  }, py::arg("tensor"), py::arg("a") = 0.f, py::arg("b") = 1.f, release_gil());
  init.def("normal_", [](Tensor& w, float mean, float std) -> Tensor& {
    nn::init::normal_(w, mean, std, default_generator());
    return w;
  }, py::arg("tensor"), py::arg("mean") = 0.f, py::arg("std") = 1.f, release_gil());
  init.def("kaiming_uniform_", [](Tensor& w, float a, const std::string& mode, const std::string& nl) -> Tensor& {
    const auto o = kaiming_arg(a, mode, nl);
    py::gil_scoped_release release;
    nn::init::kaiming_uniform_(w, default_generator(), o);
    return w;
  }, py::arg("tensor"), py::arg("a") = 0.f, py::arg("mode") = "fan_in", py::arg("nonlinearity") = "leaky_relu");
  init.def("kaiming_normal_", [](Tensor& w, float a, const std::string& mode, const std::string& nl) -> Tensor& {
    const auto o = kaiming_arg(a, mode, nl);
    py::gil_scoped_release release;
    nn::init::kaiming_normal_(w, default_generator(), o);
    return w;
  }, py::arg("tensor"), py::arg("a") = 0.f, py::arg("mode") = "fan_in", py::arg("nonlinearity") = "leaky_relu");
  init.def("xavier_uniform_", [](Tensor& w, float gain) -> Tensor& {
    nn::init::xavier_uniform_(w, default_generator(), gain);
    return w;
  }, py::arg("tensor"), py::arg("gain") = 1.f, release_gil());
  init.def("xavier_normal_", [](Tensor& w, float gain) -> Tensor& {
    nn::init::xavier_normal_(w, default_generator(), gain);
    return w;
  }, py::arg("tensor"), py::arg("gain") = 1.f, release_gil());
  init.def("fans", [](const Tensor& w) {
    const auto f = nn::init::fans(w);
    return py::make_tuple(f.in, f.out);
  }, py::arg("tensor"), "(fan_in, fan_out)");
  init.def("gain", [](const std::string& nl, float slope) { return nn::init::gain(nonlinearity_arg(nl), slope); },
           py::arg("nonlinearity"), py::arg("param") = 0.01f,
           "the recommended gain (torch.nn.init.calculate_gain); param: leaky_relu's negative slope");

  // --- checkpoints (nn/checkpoint.h) and raw safetensors files (nn/safetensors.h)
  m.def("save_checkpoint", [](const std::string& path, const nn::Module& model, const optim::Optimizer* opt,
                              int64_t epoch, int64_t step, const py::dict& metadata) {
    const nn::Metadata md = metadata_arg(metadata);
    py::gil_scoped_release release;
    nn::save_checkpoint(path, model, opt, {.epoch = epoch, .step = step}, md);
  }, py::arg("path"), py::arg("model"), py::arg("optimizer") = py::none(), py::arg("epoch") = 0,
     py::arg("step") = 0, py::arg("metadata") = py::dict(),
     "Writes the model's (and optimizer's) state and the position to one .safetensors file");
  m.def("read_checkpoint", [](const std::string& path) {
    nn::Checkpoint c;
    {
      py::gil_scoped_release release;
      c = nn::read_checkpoint(path);
    }
    return checkpoint_dict(c);
  }, py::arg("path"), "dict: model, optimizer (state dicts), epoch, step, metadata");
  m.def("load_checkpoint", [](const std::string& path, nn::Module& model, optim::Optimizer* opt) {
    nn::Checkpoint c;
    {
      py::gil_scoped_release release;
      c = nn::load_checkpoint(path, model, opt);
    }
    return checkpoint_dict(c);
  }, py::arg("path"), py::arg("model"), py::arg("optimizer") = py::none(),
     "Loads the weights (and optimizer state) in place; returns read_checkpoint's dict");
  m.def("save_safetensors", [](const std::string& path, const py::dict& tensors, const py::dict& metadata) {
    const nn::StateDict sd = state_dict_arg(tensors);
    const nn::Metadata md = metadata_arg(metadata);
    py::gil_scoped_release release;
    nn::save_safetensors(path, sd, md);
  }, py::arg("path"), py::arg("tensors"), py::arg("metadata") = py::dict());
  m.def("load_safetensors", [](const std::string& path) {
    nn::SafeTensors f;
    {
      py::gil_scoped_release release;
      f = nn::load_safetensors(path);
    }
    return py::make_tuple(f.tensors, f.metadata);
  }, py::arg("path"), "(tensors: dict name -> Tensor, metadata: dict of str)");

  // --- the model zoo of the example programs (examples/common/models.h)
  m.def("model", &examples::make_model, py::arg("arch"), py::arg("seed") = 1,
        "A zoo model by name: 'mlp', 'lenet5', 'cifar_cnn', 'mobilenet' (a Sequential)");
}

}  // namespace qgrad::python
