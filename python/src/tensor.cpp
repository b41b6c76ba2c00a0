// qgrad.Tensor: the C++ Tensor handle, its ops and autograd, and NumPy interop.
//
// NumPy <-> Tensor shares memory whenever the layout allows:
//   from_numpy(a): a writeable float32/int32/int8/uint8 array whose strides are non-negative
//                  multiples of its item size becomes a tensor over the array's buffer (the
//                  array is kept alive by the tensor); any other (negative strides, read-only
//                  memory such as np.frombuffer over bytes) is copied first.
//   t.numpy():     always a view of the tensor's storage (strides and offset as they are),
//                  keeping the storage alive; np.asarray(t) and memoryview(t) do the same.
#include <optional>

#include "bindings.h"

namespace qgrad::python {

namespace {

py::dtype numpy_dtype(DType d) {
  switch (d) {
    case DType::Float32: return py::dtype::of<float>();
    case DType::Int32: return py::dtype::of<int32_t>();
    case DType::Int8: return py::dtype::of<int8_t>();
    case DType::UInt8: return py::dtype::of<uint8_t>();
  }
  throw Error("qgrad: unknown dtype");
}

DType qgrad_dtype(const py::dtype& dt, const char* op) {
  if (dt.equal(py::dtype::of<float>())) return DType::Float32;
  if (dt.equal(py::dtype::of<int32_t>())) return DType::Int32;
  if (dt.equal(py::dtype::of<int8_t>())) return DType::Int8;
  if (dt.equal(py::dtype::of<uint8_t>())) return DType::UInt8;
  throw py::type_error(cat("qgrad.", op, ": NumPy dtype ", std::string(py::str(py::handle(dt))),
                           " is not supported (qgrad has float32, int32, int8, uint8); convert "
                           "first, e.g. a.astype(np.float32)"));
}

// A Python scalar or Tensor as the right-hand side of an arithmetic operator.
using Operand = std::variant<Tensor, double>;

Tensor as_tensor_like(const Operand& o, const Tensor& like) {
  if (const Tensor* t = std::get_if<Tensor>(&o)) return *t;
  return full({}, static_cast<float>(std::get<double>(o)), like.dtype());
}

// Python's int / slice / None / Ellipsis indexing, as views (differentiable, sharing storage).
Tensor index(const Tensor& t, py::handle key) {
  py::tuple items = py::isinstance<py::tuple>(key) ? py::reinterpret_borrow<py::tuple>(key)
                                                    : py::make_tuple(key);
  int64_t consumed = 0;  // items that index an existing axis (int or slice)
  bool ellipsis = false;
  for (py::handle item : items) {
    if (item.is(py::ellipsis())) {
      if (ellipsis) throw py::index_error("qgrad.Tensor: an index can only have one ellipsis ('...')");
      ellipsis = true;
    } else if (!item.is_none()) {
      ++consumed;
    }
  }
  if (consumed > t.dim())
    throw py::index_error(cat("qgrad.Tensor: too many indices (", consumed, ") for a tensor of ",
                              t.dim(), " dimensions, shape ", shape_str(t.shape())));
  Tensor out = t;
  int64_t axis = 0;  // the axis of `out` the next item applies to
  for (py::handle item : items) {
    if (item.is(py::ellipsis())) {
      axis += t.dim() - consumed;
    } else if (item.is_none()) {
      out = out.unsqueeze(axis);
      ++axis;
    } else if (py::isinstance<py::slice>(item)) {
      const int64_t n = out.shape()[axis];
      py::ssize_t start, stop, step, length;
      if (!py::reinterpret_borrow<py::slice>(item).compute(n, &start, &stop, &step, &length))
        throw py::error_already_set();
      if (step < 1)
        throw py::index_error(cat("qgrad.Tensor: slice step must be >= 1, got ", step,
                                  " (flip with a copy in NumPy instead)"));
      out = out.slice(axis, start, stop, step);
      ++axis;
    } else if (py::isinstance<py::int_>(item) && !py::isinstance<py::bool_>(item)) {
      const int64_t n = out.shape()[axis];
      int64_t i = item.cast<int64_t>();
      if (i < -n || i >= n)
        throw py::index_error(cat("qgrad.Tensor: index ", i, " is out of range for axis ", axis,
                                  " of size ", n, " (shape ", shape_str(t.shape()), ")"));
      if (i < 0) i += n;
      out = out.slice(axis, i, i + 1).squeeze(axis);
    } else {
      throw py::type_error(cat("qgrad.Tensor: indices must be ints, slices, None or '...', not ",
                               std::string(py::str(py::type::of(item).attr("__name__")))));
    }
  }
  return out;
}

py::object item(const Tensor& t) {
  if (t.numel() != 1)
    throw Error(cat("qgrad::item: the tensor has ", t.numel(), " elements (shape ",
                    shape_str(t.shape()), "); item() needs exactly one"));
  Tensor c = t.detach().to(Device::CPU).contiguous();  // a device tensor's value is copied over
  switch (t.dtype()) {
    case DType::Float32: return py::float_(c.data<float>()[0]);
    case DType::Int32: return py::int_(c.data<int32_t>()[0]);
    case DType::Int8: return py::int_(c.data<int8_t>()[0]);
    case DType::UInt8: return py::int_(c.data<uint8_t>()[0]);
  }
  return py::none();
}

std::vector<int64_t> axes_arg(py::handle axes) {
  if (axes.is_none()) return {};
  if (py::isinstance<py::int_>(axes)) return {axes.cast<int64_t>()};
  return axes.cast<std::vector<int64_t>>();
}

// Shapes may be passed as varargs (t.view(2, 3)) or as one sequence (t.view((2, 3))).
Shape varargs_shape(py::args args, const char* op) {
  if (args.size() == 1 && !py::isinstance<py::int_>(args[0])) return shape_arg(args[0], op);
  return shape_arg(args, op);
}

// No graph is recorded inside `with qgrad.no_grad():` (a C++ NoGradGuard lives meanwhile).
class NoGrad {
 public:
  void enter() { guard_.emplace(); }
  void exit() { guard_.reset(); }

 private:
  std::optional<NoGradGuard> guard_;
};

}  // namespace

Shape shape_arg(py::handle obj, const char* op) {
  if (py::isinstance<py::int_>(obj)) return {obj.cast<int64_t>()};
  if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj))
    throw py::type_error(cat("qgrad.", op, ": a shape is a tuple or list of ints, got ",
                             std::string(py::str(py::type::of(obj).attr("__name__")))));
  Shape s;
  for (py::handle h : py::reinterpret_borrow<py::sequence>(obj)) {
    if (!py::isinstance<py::int_>(h))
      throw py::type_error(cat("qgrad.", op, ": shape entries must be ints, got ",
                               std::string(py::str(py::type::of(h).attr("__name__")))));
    s.push_back(h.cast<int64_t>());
  }
  return s;
}

Tensor from_numpy(py::array a) {
  const DType dtype = qgrad_dtype(a.dtype(), "from_numpy");
  const auto item = static_cast<py::ssize_t>(dtype_size(dtype));
  Shape shape(a.shape(), a.shape() + a.ndim());
  Shape strides;
  bool shareable = true;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    const py::ssize_t s = a.strides(i);
    if (s < 0 || s % item != 0) shareable = false;
    strides.push_back(s / item);
  }
  if (!a.writeable()) shareable = false;  // qgrad may write into a tensor: never into read-only memory
  if (!shareable) {
    // Negative or odd strides, or read-only memory: a row-major copy, then share that.
    py::array copy = py::module_::import("numpy").attr("array")(a, py::arg("order") = "C");
    return from_numpy(copy);
  }
  // The tensor holds a reference to the array; dropping it needs the GIL, which a C++ thread
  // freeing the last tensor may not hold.
  auto* ref = new py::object(a);
  std::shared_ptr<void> owner(ref, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
  return from_blob(a.mutable_data(), shape, strides, dtype, std::move(owner));
}

py::array to_numpy(const Tensor& t) {
  check(t.defined(), "numpy", "the tensor is undefined");
  check(t.device() == Device::CPU, "numpy", "the tensor is on ", device_name(t.device()),
        "; NumPy views host memory only: copy it with .to(\"cpu\") first");
  const auto item = static_cast<py::ssize_t>(dtype_size(t.dtype()));
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(s * item);
  // The capsule owns a handle to the storage, so the array keeps the memory alive.
  auto* keep = new std::shared_ptr<Storage>(t.storage());
  py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(numpy_dtype(t.dtype()), shape, strides, t.raw_data(), base);
}

Tensor to_tensor(py::handle obj) {
  if (py::isinstance<Tensor>(obj)) return obj.cast<Tensor>();
  py::module_ np = py::module_::import("numpy");
  py::array a = np.attr("asarray")(obj);
  // Python floats and lists of them arrive as float64, ints as int64: narrow to qgrad's types.
  if (a.dtype().kind() == 'f') a = np.attr("asarray")(a, np.attr("float32"));
  if (a.dtype().kind() == 'b') a = np.attr("asarray")(a, np.attr("uint8"));
  if (a.dtype().kind() == 'i' && a.itemsize() == 8) {
    py::object lo = a.attr("min")(), hi = a.attr("max")();
    if (a.size() > 0 && (lo.cast<int64_t>() < INT32_MIN || hi.cast<int64_t>() > INT32_MAX))
      throw py::value_error("qgrad.tensor: integer values do not fit int32");
    a = np.attr("asarray")(a, np.attr("int32"));
  }
  return from_numpy(a).clone().detach();
}

void bind_tensor(py::module_& m) {
  py::enum_<DType> dtype(m, "dtype");
  dtype.value("float32", DType::Float32)
      .value("int32", DType::Int32)
      .value("int8", DType::Int8)
      .value("uint8", DType::UInt8)
      .export_values()
      .def_property_readonly("itemsize", [](DType d) { return dtype_size(d); });
  // Assigned rather than def'd: def would add an overload behind enum_'s own __repr__/__str__.
  dtype.attr("__repr__") = py::cpp_function([](DType d) { return cat("qgrad.", dtype_name(d)); }, py::is_method(dtype));
  dtype.attr("__str__") = py::cpp_function([](DType d) { return std::string(dtype_name(d)); }, py::is_method(dtype));

  py::class_<Tensor> t(m, "Tensor", py::buffer_protocol(), R"doc(
An n-dimensional array (float32, int32, int8 or uint8) with reverse-mode autograd.
A Tensor is a handle: views (reshape, transpose, slicing) and numpy() share its memory.)doc");
  t.def(py::init([](py::handle data) { return to_tensor(data); }), py::arg("data"),
        "A copy of data (a list, a NumPy array or a Tensor); floats become float32, ints int32")
      .def_buffer([](Tensor& self) {
        check(self.device() == Device::CPU, "buffer", "the tensor is on ", device_name(self.device()),
              "; copy it with .to(\"cpu\") first");
        const auto item = static_cast<py::ssize_t>(dtype_size(self.dtype()));
        std::vector<py::ssize_t> strides;
        for (int64_t s : self.strides()) strides.push_back(s * item);
        return py::buffer_info(self.raw_data(), item, numpy_dtype(self.dtype()).char_() == 'f'
                                                        ? py::format_descriptor<float>::format()
                                                        : std::string(1, numpy_dtype(self.dtype()).char_()),
                               self.dim(), std::vector<py::ssize_t>(self.shape().begin(), self.shape().end()),
                               strides);
      })
      // --- metadata
      .def_property_readonly("shape", [](const Tensor& self) { return py::tuple(py::cast(self.shape())); })
      .def_property_readonly("strides", [](const Tensor& self) { return py::tuple(py::cast(self.strides())); },
                             "strides in elements (NumPy's are in bytes)")
      .def_property_readonly("offset", &Tensor::offset)
      .def_property_readonly("dtype", &Tensor::dtype)
      .def_property_readonly("device", [](const Tensor& self) { return device_name(self.device()); })
      .def_property_readonly("ndim", &Tensor::dim)
      .def("dim", &Tensor::dim)
      .def("numel", &Tensor::numel)
      .def("size", [](const Tensor& self, py::object axis) -> py::object {
             if (axis.is_none()) return py::tuple(py::cast(self.shape()));
             return py::int_(self.size(axis.cast<int64_t>()));
           }, py::arg("axis") = py::none())
      .def("__len__", [](const Tensor& self) {
        check(self.dim() > 0, "len", "len() of a 0-d tensor");
        return self.shape()[0];
      })
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("item", &item)
      .def("tolist", [](const Tensor& self) { return to_numpy(self).attr("tolist")(); })
      .def("numpy", &to_numpy, "A NumPy array sharing this tensor's memory (writes show in both)")
      .def("__array__", [](const Tensor& self, py::object dtype) {
             py::array a = to_numpy(self);
             return dtype.is_none() ? py::object(a) : a.attr("astype")(dtype);
           }, py::arg("dtype") = py::none())
      .def("__repr__", &Tensor::to_string)
      .def("__str__", &Tensor::to_string)
      // --- views
      .def("view", [](const Tensor& self, py::args s) { return self.view(varargs_shape(s, "view")); })
      .def("reshape", [](const Tensor& self, py::args s) { return self.reshape(varargs_shape(s, "reshape")); })
      .def("flatten", &Tensor::flatten, py::arg("start_axis") = 0, py::arg("end_axis") = -1)
      .def("transpose", &Tensor::transpose, py::arg("axis0"), py::arg("axis1"))
      .def("permute", [](const Tensor& self, py::args s) { return self.permute(varargs_shape(s, "permute")); })
      .def("slice", &Tensor::slice, py::arg("axis"), py::arg("start"), py::arg("stop"), py::arg("step") = 1)
      .def("squeeze", &Tensor::squeeze, py::arg("axis"))
      .def("unsqueeze", &Tensor::unsqueeze, py::arg("axis"))
      .def("expand", [](const Tensor& self, py::args s) { return self.expand(varargs_shape(s, "expand")); })
      .def("t", &Tensor::t)
      .def_property_readonly("T", &Tensor::t)
      .def("__getitem__", &index)
      .def("__setitem__", [](Tensor& self, py::handle key, py::handle value) {
        Tensor view = index(self, key);
        if (py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value))
          view.fill_(value.cast<float>());
        else
          view.copy_(to_tensor(value).to(self.dtype()));
      })
      // --- copies
      .def("contiguous", &Tensor::contiguous)
      .def("clone", &Tensor::clone, release_gil())
      .def("to", py::overload_cast<DType>(&Tensor::to, py::const_), py::arg("dtype"), release_gil())
      .def("to", [](const Tensor& self, const std::string& device) { return self.to(parse_device(device)); },
           py::arg("device"), release_gil(), "A copy on device 'cpu' or 'cuda' (itself when already there)")
      .def("float", [](const Tensor& self) { return self.to(DType::Float32); })
      .def("detach", &Tensor::detach)
      .def("copy_", [](Tensor& self, const Tensor& src) -> Tensor& { return self.copy_(src); },
           py::arg("src"), py::return_value_policy::reference_internal)
      .def("fill_", [](Tensor& self, float v) -> Tensor& { return self.fill_(v); }, py::arg("value"),
           py::return_value_policy::reference_internal)
      // --- autograd
      .def_property_readonly("requires_grad", &Tensor::requires_grad)
      .def("requires_grad_", [](Tensor& self, bool on) { self.requires_grad_(on); return self; },
           py::arg("requires_grad") = true)
      .def_property("grad",
                    [](const Tensor& self) -> py::object {
                      Tensor g = self.grad();
                      return g.defined() ? py::cast(g) : py::none();
                    },
                    [](Tensor& self, py::object g) {
                      if (g.is_none()) self.zero_grad();
                      else self.set_grad(g.cast<Tensor>());
                    })
      .def("zero_grad", &Tensor::zero_grad)
      .def_property_readonly("is_leaf", &Tensor::is_leaf)
      .def_property_readonly("grad_fn", [](const Tensor& self) -> py::object {
        return self.grad_fn() ? py::cast(self.grad_fn()->name) : py::none();
      }, "the name of the op that made this tensor, or None for a leaf")
      .def("backward", [](const Tensor& self, py::object grad) {
             Tensor g = grad.is_none() ? Tensor() : to_tensor(grad);
             py::gil_scoped_release release;
             self.backward(g);
           }, py::arg("grad") = py::none())
      // --- arithmetic: Tensor op Tensor / Python number, both ways round
      .def("__add__", [](const Tensor& a, const Operand& b) { return add(a, as_tensor_like(b, a)); }, release_gil())
      .def("__radd__", [](const Tensor& a, const Operand& b) { return add(as_tensor_like(b, a), a); }, release_gil())
      .def("__sub__", [](const Tensor& a, const Operand& b) { return sub(a, as_tensor_like(b, a)); }, release_gil())
      .def("__rsub__", [](const Tensor& a, const Operand& b) { return sub(as_tensor_like(b, a), a); }, release_gil())
      .def("__mul__", [](const Tensor& a, const Operand& b) { return mul(a, as_tensor_like(b, a)); }, release_gil())
      .def("__rmul__", [](const Tensor& a, const Operand& b) { return mul(as_tensor_like(b, a), a); }, release_gil())
      .def("__truediv__", [](const Tensor& a, const Operand& b) { return div(a, as_tensor_like(b, a)); }, release_gil())
      .def("__rtruediv__", [](const Tensor& a, const Operand& b) { return div(as_tensor_like(b, a), a); }, release_gil())
      .def("__pow__", [](const Tensor& a, const Operand& b) {
             if (const double* e = std::get_if<double>(&b)) return pow(a, static_cast<float>(*e));
             return pow(a, std::get<Tensor>(b));
           }, release_gil())
      .def("__matmul__", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, release_gil())
      .def("__neg__", [](const Tensor& a) { return neg(a); })
      .def("__lt__", [](const Tensor& a, const Operand& b) { return lt(a, as_tensor_like(b, a)); })
      .def("__le__", [](const Tensor& a, const Operand& b) { return le(a, as_tensor_like(b, a)); })
      .def("__gt__", [](const Tensor& a, const Operand& b) { return gt(a, as_tensor_like(b, a)); })
      .def("__ge__", [](const Tensor& a, const Operand& b) { return ge(a, as_tensor_like(b, a)); })
      .def("eq", [](const Tensor& a, const Operand& b) { return eq(a, as_tensor_like(b, a)); })
      .def("__bool__", [](const Tensor& self) {
        check(self.numel() == 1, "bool", "the truth value of a tensor with ", self.numel(),
              " elements is ambiguous; use .item() on a one-element tensor");
        return item(self).cast<double>() != 0;
      })
      .def("__float__", [](const Tensor& self) { return item(self).cast<double>(); })
      .def("__int__", [](const Tensor& self) { return item(self).cast<int64_t>(); })
      // --- elementwise and reductions as methods (the same ops are functions of qgrad)
      .def("relu", [](const Tensor& x) { return relu(x); }, release_gil())
      .def("sigmoid", [](const Tensor& x) { return sigmoid(x); }, release_gil())
      .def("tanh", [](const Tensor& x) { return tanh(x); }, release_gil())
      .def("exp", [](const Tensor& x) { return exp(x); }, release_gil())
      .def("log", [](const Tensor& x) { return log(x); }, release_gil())
      .def("sqrt", [](const Tensor& x) { return sqrt(x); }, release_gil())
      .def("abs", [](const Tensor& x) { return abs(x); }, release_gil())
      .def("clamp", [](const Tensor& x, float lo, float hi) { return clamp(x, lo, hi); },
           py::arg("min"), py::arg("max"), release_gil())
      .def("sum", [](const Tensor& x, py::object axes, bool keepdim) { return sum(x, axes_arg(axes), keepdim); },
           py::arg("axis") = py::none(), py::arg("keepdim") = false)
      .def("mean", [](const Tensor& x, py::object axes, bool keepdim) { return mean(x, axes_arg(axes), keepdim); },
           py::arg("axis") = py::none(), py::arg("keepdim") = false)
      .def("max", [](const Tensor& x, py::object axes, bool keepdim) { return max(x, axes_arg(axes), keepdim); },
           py::arg("axis") = py::none(), py::arg("keepdim") = false)
      .def("min", [](const Tensor& x, py::object axes, bool keepdim) { return min(x, axes_arg(axes), keepdim); },
           py::arg("axis") = py::none(), py::arg("keepdim") = false)
      .def("var", [](const Tensor& x, py::object axes, bool keepdim, int64_t correction) {
             return var(x, axes_arg(axes), keepdim, correction);
           }, py::arg("axis") = py::none(), py::arg("keepdim") = false, py::arg("correction") = 1)
      .def("argmax", [](const Tensor& x, int64_t axis, bool keepdim) { return argmax(x, axis, keepdim); },
           py::arg("axis") = -1, py::arg("keepdim") = false)
      .def("softmax", [](const Tensor& x, int64_t axis) { return softmax(x, axis); }, py::arg("axis") = -1)
      .def("log_softmax", [](const Tensor& x, int64_t axis) { return log_softmax(x, axis); }, py::arg("axis") = -1)
      .def("__hash__", [](const Tensor& self) { return reinterpret_cast<intptr_t>(self.impl()); });

  // --- creation
  m.def("from_numpy", &from_numpy, py::arg("array"),
        "A tensor sharing the array's memory (copied only when its strides are negative)");
  m.def("tensor", [](py::handle data, std::optional<DType> dtype) {
          Tensor out = to_tensor(data);
          return dtype ? out.to(*dtype) : out;
        }, py::arg("data"), py::arg("dtype") = py::none(),
        "A new tensor holding a copy of data; floats become float32, ints int32");
  m.def("empty", [](py::object s, DType d) { return empty(shape_arg(s, "empty"), d); }, py::arg("shape"), py::arg("dtype") = DType::Float32);
  m.def("zeros", [](py::object s, DType d) { return zeros(shape_arg(s, "zeros"), d); }, py::arg("shape"), py::arg("dtype") = DType::Float32);
  m.def("ones", [](py::object s, DType d) { return ones(shape_arg(s, "ones"), d); }, py::arg("shape"), py::arg("dtype") = DType::Float32);
  m.def("full", [](py::object s, float v, DType d) { return full(shape_arg(s, "full"), v, d); },
        py::arg("shape"), py::arg("value"), py::arg("dtype") = DType::Float32);
  m.def("zeros_like", &zeros_like, py::arg("tensor"));
  m.def("ones_like", &ones_like, py::arg("tensor"));
  m.def("arange", [](float start, std::optional<float> stop, float step) {
          return stop ? arange(start, *stop, step) : arange(0.f, start, step);
        }, py::arg("start"), py::arg("stop") = py::none(), py::arg("step") = 1.f);
  m.def("rand", [](py::object s) { return rand(shape_arg(s, "rand")); }, py::arg("shape"), "U[0, 1), from the default generator");
  m.def("randn", [](py::object s) { return randn(shape_arg(s, "randn")); }, py::arg("shape"), "N(0, 1), from the default generator");
  m.def("scalar_tensor", &scalar_tensor, py::arg("value"));
  m.def("manual_seed", &manual_seed, py::arg("seed"), "Seeds the default generator (weights, rand, dropout)");
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("get_num_threads", &get_num_threads);

  // --- autograd mode
  py::class_<NoGrad>(m, "no_grad", "with qgrad.no_grad(): ... records no graph inside")
      .def(py::init<>())
      .def("__enter__", [](NoGrad& self) { self.enter(); return &self; }, py::return_value_policy::reference)
      .def("__exit__", [](NoGrad& self, py::args) { self.exit(); return false; });
  m.def("is_grad_enabled", &grad_mode_enabled);

  // --- ops as functions (formulas in core/ops/*.h)
  auto unary = [&m](const char* name, Tensor (*f)(const Tensor&)) { m.def(name, f, py::arg("x"), release_gil()); };
  unary("relu", &relu);
  unary("sigmoid", &sigmoid);
  unary("tanh", &tanh);
  unary("gelu", &gelu);
  unary("neg", &neg);
  unary("exp", &exp);
  unary("log", &log);
  unary("sqrt", &sqrt);
  unary("abs", &abs);
  m.def("leaky_relu", &leaky_relu, py::arg("x"), py::arg("negative_slope") = 0.01f, release_gil());
  m.def("clamp", &clamp, py::arg("x"), py::arg("min"), py::arg("max"), release_gil());
  auto binary = [&m](const char* name, Tensor (*f)(const Tensor&, const Tensor&)) {
    m.def(name, [f](const Tensor& a, const Operand& b) { return f(a, as_tensor_like(b, a)); },
          py::arg("a"), py::arg("b"));
  };
  binary("add", &add);
  binary("sub", &sub);
  binary("mul", &mul);
  binary("div", &div);
  binary("pow", &pow);
  binary("maximum", &maximum);
  binary("minimum", &minimum);
  binary("eq", &eq);
  binary("gt", &gt);
  binary("ge", &ge);
  binary("lt", &lt);
  binary("le", &le);
  m.def("where", &where, py::arg("cond"), py::arg("a"), py::arg("b"), release_gil());
  m.def("matmul", &matmul, py::arg("a"), py::arg("b"), release_gil());
  m.def("linear", &linear, py::arg("x"), py::arg("weight"), py::arg("bias") = Tensor(), release_gil());
  m.def("conv2d", [](const Tensor& x, const Tensor& w, std::optional<Tensor> b, int64_t stride,
                     int64_t padding, int64_t dilation, int64_t groups) {
          return conv2d(x, w, b.value_or(Tensor()), {.stride = stride, .padding = padding,
                                                     .dilation = dilation, .groups = groups});
        }, py::arg("x"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("stride") = 1,
        py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1, release_gil());
  m.def("max_pool2d", [](const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
          return max_pool2d(x, {.kernel = kernel, .stride = stride, .padding = padding});
        }, py::arg("x"), py::arg("kernel") = 2, py::arg("stride") = 0, py::arg("padding") = 0, release_gil());
  m.def("avg_pool2d", [](const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
          return avg_pool2d(x, {.kernel = kernel, .stride = stride, .padding = padding});
        }, py::arg("x"), py::arg("kernel") = 2, py::arg("stride") = 0, py::arg("padding") = 0, release_gil());
  m.def("concat", &concat, py::arg("tensors"), py::arg("axis") = 0, release_gil());
  m.def("stack", &stack, py::arg("tensors"), py::arg("axis") = 0, release_gil());
  m.def("sum", [](const Tensor& x, py::object axes, bool keepdim) { return sum(x, axes_arg(axes), keepdim); },
        py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdim") = false);
  m.def("mean", [](const Tensor& x, py::object axes, bool keepdim) { return mean(x, axes_arg(axes), keepdim); },
        py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdim") = false);
  m.def("softmax", &softmax, py::arg("x"), py::arg("axis") = -1, release_gil());
  m.def("log_softmax", &log_softmax, py::arg("x"), py::arg("axis") = -1, release_gil());
  m.def("argmax", &argmax, py::arg("x"), py::arg("axis") = -1, py::arg("keepdim") = false);
  m.def("cross_entropy", &cross_entropy, py::arg("logits"), py::arg("targets"), release_gil(),
        "mean over N of -log softmax(logits)[target]; logits [N, C] float32, targets [N] int32");
  m.def("mse_loss", &mse_loss, py::arg("pred"), py::arg("target"), release_gil());
}

}  // namespace qgrad::python
