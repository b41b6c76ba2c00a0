// Bindings for qgrad.quant (see bindings.h).
#include "bindings.h"

namespace qgrad::python {

void bind_quant(py::module_& /*m*/) {}

}  // namespace qgrad::python
