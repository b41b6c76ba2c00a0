#include "nn/sequential.h"

namespace qgrad::nn {

const ModulePtr& Sequential::operator[](size_t i) const {
  check(i < size(), "Sequential[]", "index ", i, " is out of range for ", size(), " modules");
  return children()[i].second;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& [name, child] : children()) y = (*child)(y);
  return y;
}

}  // namespace qgrad::nn
