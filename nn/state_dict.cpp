#include "nn/state_dict.h"

#include "core/autograd.h"

namespace qgrad::nn {

const Tensor& require_entry(const StateDict& sd, const std::string& name, const Shape& shape,
                            DType dtype, const char* op) {
  auto it = sd.find(name);
  check(it != sd.end(), op, "missing tensor '", name, "'");
  const Tensor& t = it->second;
  check(t.defined(), op, "tensor '", name, "' is undefined");
  check(t.shape() == shape, op, "tensor '", name, "' has shape ", shape_str(t.shape()),
        " but the destination expects ", shape_str(shape));
  check(t.dtype() == dtype, op, "tensor '", name, "' has dtype ", dtype_name(t.dtype()),
        " but the destination expects ", dtype_name(dtype));
  return t;
}

void assign(Tensor& dst, const Tensor& src) {
  NoGradGuard no_grad;
  dst.copy_(src);
}

}  // namespace qgrad::nn
