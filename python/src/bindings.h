// The Python binding layer: one file per area, each adding its classes and functions to the
// extension module _qgrad (python/qgrad/*.py re-export them as qgrad, qgrad.nn, ...).
//
// Rules every file follows:
//   - call the public C++ API only; no numerics here (the C++ library is the one implementation);
//   - release the GIL around every call that can run long (ops, layers, training steps, data
//     loading, kernels), so other Python threads run meanwhile;
//   - a qgrad::Error crosses into Python as qgrad.Error (a RuntimeError) with the same message.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "qgrad.h"

namespace qgrad::python {

namespace py = pybind11;
using release_gil = py::call_guard<py::gil_scoped_release>;

void bind_tensor(py::module_& m);   // tensor.cpp: Tensor, dtypes, ops, autograd, NumPy
void bind_nn(py::module_& m);       // nn.cpp: Module, layers, losses, init, checkpoints, models
void bind_optim(py::module_& m);    // optim.cpp: optimizers and LR schedules
void bind_data(py::module_& m);     // data.cpp: datasets and the DataLoader
void bind_quant(py::module_& m);    // quant.cpp: qparams, observers, QAT/PTQ, integer model
void bind_kernels(py::module_& m);  // kernels.cpp: the int8 GEMM kernels

// NumPy <-> Tensor (tensor.cpp). to_tensor accepts a Tensor, a NumPy array or anything
// np.asarray takes (copying where needed); to_numpy shares the tensor's memory.
Tensor from_numpy(py::array a);
py::array to_numpy(const Tensor& t);
Tensor to_tensor(py::handle obj);
// A dict of tensors (or arrays) as a StateDict, and a dict of strings as safetensors metadata
// (nn.cpp); shared by checkpoints, optimizers and the integer-model file.
nn::StateDict state_dict_arg(const py::dict& d);
nn::Metadata metadata_arg(const py::dict& d);
// A shape given as a tuple/list of ints (Python side: `t.view(2, 3)` or `t.view((2, 3))`).
Shape shape_arg(py::handle obj, const char* op);

}  // namespace qgrad::python
