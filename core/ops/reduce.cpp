#include "core/ops/reduce.h"

#include <algorithm>

#include "core/ops/elementwise.h"
#include "core/ops/op_support.h"

namespace qgrad {

namespace detail {

ReducePlan plan_reduce(const Shape& shape, const std::vector<int64_t>& axes, const char* op) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  ReducePlan p;
  p.reduced.assign(nd, axes.empty());
  for (int64_t a : axes) {
    int64_t ax = normalize_axis(a, nd, op);
    check(!p.reduced[ax], op, "axis ", a, " is listed twice");
    p.reduced[ax] = true;
  }
  for (int64_t i = 0; i < nd; ++i) {
    (p.reduced[i] ? p.reduced_axes : p.kept_axes).push_back(i);
    p.keepdim_shape.push_back(p.reduced[i] ? 1 : shape[i]);
    if (!p.reduced[i]) p.out_shape.push_back(shape[i]);
  }
  p.permutation = p.kept_axes;
  p.permutation.insert(p.permutation.end(), p.reduced_axes.begin(), p.reduced_axes.end());
  p.inner = 1;
  for (int64_t a : p.reduced_axes) p.inner *= shape[a];
  p.outer = numel(shape) / std::max<int64_t>(p.inner, 1);
  return p;
}

Tensor reduce_forward(ReduceOp op, const Tensor& x, const ReducePlan& p, bool keepdim) {
  // Move reduced axes innermost, so each output element reduces one contiguous row.
  Tensor xc = compact(x.detach().permute(p.permutation));
  Tensor out = empty(keepdim ? p.keepdim_shape : p.out_shape);
  backend_of(x).reduce(op, xc.data<float>(), out.data<float>(), p.outer, p.inner);
  return out;
}

}  // namespace detail

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  detail::require_float(x, "sum");
  detail::ReducePlan p = detail::plan_reduce(x.shape(), axes, "sum");
  Tensor out = detail::reduce_forward(ReduceOp::Sum, x, p, keepdim);
  return record(out, "sum", {x}, [p, shape = x.shape()](const Tensor& g) {
    return std::vector<Tensor>{g.reshape(p.keepdim_shape).expand(shape)};
  });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  detail::require_float(x, "mean");
  detail::ReducePlan p = detail::plan_reduce(x.shape(), axes, "mean");
  check(p.inner > 0, "mean", "cannot average over an empty axis (shape ", shape_str(x.shape()), ")");
  return div(sum(x, axes, keepdim), static_cast<float>(p.inner));
}

}  // namespace qgrad
