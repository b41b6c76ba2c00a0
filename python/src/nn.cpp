// qgrad.nn: Module (subclassable from Python), the layers, losses, initializers, checkpoints
// and the model zoo.
//
// A Python subclass of Module is a C++ nn::Module underneath (the PyModule trampoline below):
// its forward is the Python method, and the attributes it assigns register with the C++ module
// (a Module as a child, a leaf tensor that requires grad as a parameter), so parameters(),
// state_dict(), train()/eval(), checkpoints and quant.prepare see them as they see C++ layers.
#include <sstream>

#include "bindings.h"
#include "examples/common/models.h"

namespace qgrad::python {

namespace {

class PyModule : public nn::Module {
 public:
  Tensor forward(const Tensor& x) override { PYBIND11_OVERRIDE_PURE(Tensor, nn::Module, forward, x); }
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

bool registered(const nn::Module& m, const std::string& name) {
  for (const auto& [n, _] : m.children())
    if (n == name) return true;
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

nn::StateDict state_dict_arg(const py::dict& d) {
  nn::StateDict sd;
  for (auto [k, v] : d) sd[k.cast<std::string>()] = to_tensor(v);
  return sd;
}

}  // namespace

void bind_nn(py::module_& m) {
  py::class_<nn::Module, PyModule, std::shared_ptr<nn::Module>>(m, "Module", R"doc(
The base of every layer. Subclass it in Python: call super().__init__(), assign layers (and
parameters: leaf tensors with requires_grad) as attributes, and write forward(x).)doc")
      .def(py::init<>())
      .def("forward", &nn::Module::forward, py::arg("x"))
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
      .def("state_dict", &nn::Module::state_dict,
           "name -> tensor, sharing memory with the module (clone() to keep a snapshot)")
      .def("load_state_dict", [](nn::Module& self, const py::dict& sd) { self.load_state_dict(state_dict_arg(sd)); },
           py::arg("state_dict"), "Strict: every name, shape and dtype must match (values: tensors or arrays)")
      .def("__repr__", &nn::Module::repr)
      .def("summary", [](nn::Module& self, py::object input_shape) {
        std::ostringstream os;
        self.summary(shape_arg(input_shape, "summary"), os);
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
            pm->add_module(name, value.cast<std::shared_ptr<nn::Module>>());
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
      }))
      .def("append", [](nn::Sequential& self, std::shared_ptr<nn::Module> mod) { self.add(std::move(mod)); },
           py::arg("module"))
      .def("__len__", &nn::Sequential::size)
      .def("__getitem__", [](const nn::Sequential& self, int64_t i) {
        const auto n = static_cast<int64_t>(self.size());
        if (i < -n || i >= n) throw py::index_error(cat("Sequential index ", i, " out of range (", n, " modules)"));
        return self[static_cast<size_t>(i < 0 ? i + n : i)];
      });

  // --- the model zoo of the example programs (examples/common/models.h)
  m.def("model", &examples::make_model, py::arg("arch"), py::arg("seed") = 1,
        "A zoo model by name: 'mlp', 'lenet5', 'cifar_cnn', 'mobilenet' (a Sequential)");
}

}  // namespace qgrad::python
