// Bindings for qgrad.data (see bindings.h).
#include "bindings.h"

namespace qgrad::python {

void bind_data(py::module_& /*m*/) {}

}  // namespace qgrad::python
