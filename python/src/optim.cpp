// Bindings for qgrad.optim (see bindings.h).
#include "bindings.h"

namespace qgrad::python {

void bind_optim(py::module_& /*m*/) {}

}  // namespace qgrad::python
