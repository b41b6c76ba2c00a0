// Bindings for qgrad.kernels (see bindings.h).
#include "bindings.h"

namespace qgrad::python {

void bind_kernels(py::module_& /*m*/) {}

}  // namespace qgrad::python
