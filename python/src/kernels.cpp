// qgrad.kernels: the int8 GEMM kernels of quant/kernels/qgemm.h, callable (and timeable) from
// Python. The registry: all_kernels() (with each one's supported flag on this CPU),
// available(), selected() (what the dispatcher picked, QGRAD_KERNEL included), find_kernel().
// qgemm(a, a_zero_point, b, bias=None, kernel='auto') runs the raw int32 output mode:
//   c[i][j] = sum_k (a[i][k] - a_zero_point) * b[k][j] + bias[j]
// a uint8 [m, k], b int8 [k, n], bias int32 [n]. pack_b() packs b once for repeated calls.
// The packing and the GEMM run with the GIL released.
#include "bindings.h"
#include "quant/kernels/qgemm.h"
#include "quant/kernels/requantize.h"

namespace qgrad::python {

namespace {

using namespace qgrad::quant;

py::dict kernel_dict(const QGemmKernel& k) {
  py::dict d;
  d["name"] = k.name;
  d["supported"] = k.supported();
  d["nr"] = k.nr;
  d["kg"] = k.kg;
  d["group_bytes"] = k.group_bytes;
  return d;
}

// The kernel named (or the dispatched one for "auto"); refuses one this CPU cannot run.
const QGemmKernel& kernel_arg(const std::string& name) {
  if (name == "auto") return qgemm_kernel();
  const QGemmKernel& k = find_kernel(name);
  check(k.supported(), "qgemm", "kernel '", name, "' is not supported by this CPU");
  return k;
}

// A 2-D array of exactly dtype T (no silent conversion of floats or wider ints), made C-contiguous.
template <class T>
py::array_t<T, py::array::c_style> matrix_arg(py::handle obj, const char* what, const char* dtype_name) {
  py::array a = py::array::ensure(obj);
  if (!a) throw py::type_error(cat("qgrad.kernels.qgemm: ", what, " must be a NumPy array of ", dtype_name));
  if (!a.dtype().equal(py::dtype::of<T>()))
    throw py::type_error(cat("qgrad.kernels.qgemm: ", what, " must be ", dtype_name, ", got ",
                             std::string(py::str(py::handle(a.dtype())))));
  return py::array_t<T, py::array::c_style>::ensure(a);
}

struct PyPackedB {
  PackedB packed;
  std::string kernel() const { return packed.kernel ? packed.kernel->name : ""; }
};

PyPackedB pack(py::handle b_obj, const std::string& kernel) {
  auto b = matrix_arg<int8_t>(b_obj, "b", "int8 [k, n]");
  if (b.ndim() != 2) throw py::value_error(cat("qgrad.kernels.qgemm: b must be 2-D [k, n], got ", b.ndim(), "-D"));
  const QGemmKernel& kern = kernel_arg(kernel);
  const int64_t k = b.shape(0), n = b.shape(1);
  PyPackedB out;
  py::gil_scoped_release release;
  out.packed = pack_b(kern, b.data(), k, n, n);
  return out;
}

py::array_t<int32_t> run_qgemm(py::handle a_obj, int32_t a_zero_point, const PackedB& b, py::handle bias_obj) {
  auto a = matrix_arg<uint8_t>(a_obj, "a", "uint8 [m, k]");
  if (a.ndim() != 2) throw py::value_error(cat("qgrad.kernels.qgemm: a must be 2-D [m, k], got ", a.ndim(), "-D"));
  if (a.shape(1) != b.k)
    throw py::value_error(cat("qgrad.kernels.qgemm: a is [", a.shape(0), ", ", a.shape(1), "] but b has k = ", b.k));
  std::optional<py::array_t<int32_t, py::array::c_style>> bias;
  if (!bias_obj.is_none()) {
    bias = matrix_arg<int32_t>(bias_obj, "bias", "int32 [n]");
    if (bias->ndim() != 1 || bias->shape(0) != b.n)
      throw py::value_error(cat("qgrad.kernels.qgemm: bias must be int32 [", b.n, "]"));
  }
  const int64_t m = a.shape(0);
  py::array_t<int32_t> c({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(b.n)});
  QGemmArgs args{.m = m, .a = a.data(), .lda = b.k, .a_zero_point = a_zero_point, .b = &b,
                 .bias = bias ? bias->data() : nullptr, .c_s32 = c.mutable_data(), .ldc = b.n};
  py::gil_scoped_release release;
  qgemm(args);
  return c;
}

}  // namespace

void bind_kernels(py::module_& m) {
  // quant/kernels/requantize.h: the fixed-point multiplier of the requantization epilogue.
  m.def("quantize_multiplier", [](double real) {
          int32_t m0 = 0;
          int shift = 0;
          quantize_multiplier(real, &m0, &shift);
          return py::make_tuple(m0, shift);
        }, py::arg("real"),
        "real = m0 * 2^-(31 + shift) with m0 in [2^30, 2^31) (or (0, 0) below 2^-32): the "
        "integer form of M = s_in * s_w / s_out");
  m.def("all_kernels", [] {
    py::list out;
    for (const QGemmKernel* k : all_kernels()) out.append(kernel_dict(*k));
    return out;
  }, "Every kernel compiled for this architecture (ref first): dicts name, supported, nr, kg, group_bytes");
  m.def("available", [] {
    py::list out;
    for (const QGemmKernel* k : all_kernels())
      if (k->supported()) out.append(k->name);
    return out;
  }, "The names of the kernels this CPU runs ('ref' always)");
  m.def("selected", [] { return std::string(qgemm_kernel().name); },
        "The kernel the integer layers use: the best supported one, or QGRAD_KERNEL's");
  m.def("select_kernel", [](const std::string& forced) { return std::string(select_kernel(forced).name); },
        py::arg("forced") = "",
        "What the dispatcher would pick given QGRAD_KERNEL=forced ('' = the best supported kernel); "
        "qgrad.Error if the name is unknown or this CPU lacks it");
  m.def("find_kernel", [](const std::string& name) { return kernel_dict(find_kernel(name)); }, py::arg("name"),
        "The registry entry of this name; qgrad.Error listing the known names if there is none");

  py::class_<PyPackedB>(m, "PackedB", "b [k, n] packed once for one kernel (pack_b)")
      .def_property_readonly("kernel", &PyPackedB::kernel)
      .def_property_readonly("k", [](const PyPackedB& p) { return p.packed.k; })
      .def_property_readonly("n", [](const PyPackedB& p) { return p.packed.n; })
      .def_property_readonly("colsum", [](const PyPackedB& p) { return p.packed.colsum; });
  m.def("pack_b", &pack, py::arg("b"), py::arg("kernel") = "auto", "Packs int8 b [k, n] for kernel");
  m.def("qgemm", [](py::handle a, int32_t a_zero_point, py::handle b, py::handle bias, const std::string& kernel) {
          if (py::isinstance<PyPackedB>(b)) {
            const PyPackedB& p = b.cast<const PyPackedB&>();
            if (kernel != "auto" && kernel != p.kernel())
              throw Error(cat("qgrad::qgemm: b was packed for kernel '", p.kernel(), "', not '", kernel, "'"));
            return run_qgemm(a, a_zero_point, p.packed, bias);
          }
          const PyPackedB p = pack(b, kernel);
          return run_qgemm(a, a_zero_point, p.packed, bias);
        }, py::arg("a"), py::arg("a_zero_point"), py::arg("b"), py::arg("bias") = py::none(),
        py::arg("kernel") = "auto",
        "int32 [m, n] = (a uint8 [m, k] - a_zero_point) @ b int8 [k, n] (+ bias int32 [n]); b may be a PackedB");
}

}  // namespace qgrad::python
