// The extension module _qgrad: the error type, then each area's bindings (bindings.h).
#include "bindings.h"
#include "core/backend/cuda_device.h"

PYBIND11_MODULE(_qgrad, m) {
  namespace py = pybind11;
  using namespace qgrad::python;
  m.doc() = "qgrad's C++ library, bound with pybind11 (import qgrad, not this module)";
  // qgrad::Error -> qgrad.Error, a RuntimeError subclass carrying the C++ message unchanged.
  py::register_exception<qgrad::Error>(m, "Error", PyExc_RuntimeError);

  bind_tensor(m);
  py::module_ nn = m.def_submodule("nn", "layers, losses, initializers, checkpoints");
  bind_nn(nn);
  py::module_ optim = m.def_submodule("optim", "optimizers and learning-rate schedules");
  bind_optim(optim);
  py::module_ data = m.def_submodule("data", "datasets and the DataLoader");
  bind_data(data);
  py::module_ quant = m.def_submodule("quant", "quantization: qparams to the integer-only model");
  bind_quant(quant);
  py::module_ kernels = m.def_submodule("kernels", "the int8 GEMM kernels");
  bind_kernels(kernels);
  py::module_ cuda = m.def_submodule("cuda", "whether the CUDA backend can run here");
  cuda.def("is_available", &qgrad::cuda_is_available, "True when qgrad was built with CUDA and a GPU is visible");
  cuda.def("device_name", &qgrad::cuda_device_description, "device 0's name, or why there is none");
}
