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
  Tensor out = empty_on(x, keepdim ? p.keepdim_shape : p.out_shape);
  backend_of(x).reduce(op, xc.device_data<float>(), out.device_data<float>(), p.outer, p.inner);
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

namespace {

// max and min. The gradient goes to every element equal to the extremum, divided by how many
// there are, so tied elements share it evenly and the total passed back is still g.
Tensor extremum(ReduceOp op, const Tensor& x, const std::vector<int64_t>& axes, bool keepdim,
                const char* name) {
  detail::require_float(x, name);
  detail::ReducePlan p = detail::plan_reduce(x.shape(), axes, name);
  check(p.inner > 0, name, "cannot reduce over an empty axis (shape ", shape_str(x.shape()), ")");
  Tensor out = detail::reduce_forward(op, x, p, keepdim);
  return record(out, name, {x}, [p, x = x.detach(), m = out.detach().reshape(p.keepdim_shape)](const Tensor& g) {
    Tensor hits = eq(x, m);
    Tensor share = div(g.reshape(p.keepdim_shape), sum(hits, p.reduced_axes, /*keepdim=*/true));
    return std::vector<Tensor>{mul(hits, share)};
  });
}

}  // namespace

Tensor max(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  return extremum(ReduceOp::Max, x, axes, keepdim, "max");
}

Tensor min(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
  return extremum(ReduceOp::Min, x, axes, keepdim, "min");
}

// Two passes (the mean first, then the squared deviations) rather than sum(x^2) - N mean^2,
// which loses every digit when the mean is large against the spread.
Tensor var(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim, int64_t correction) {
  detail::require_float(x, "var");
  detail::ReducePlan p = detail::plan_reduce(x.shape(), axes, "var");
  check(correction >= 0, "var", "correction must be >= 0, got ", correction);
  check(p.inner > correction, "var", "correction ", correction, " leaves no degrees of freedom: the ",
        "reduced axes of shape ", shape_str(x.shape()), " hold ", p.inner, " element(s)");
  Tensor d = sub(x, mean(x, axes, /*keepdim=*/true));
  return div(sum(mul(d, d), axes, keepdim), static_cast<float>(p.inner - correction));
}

Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
  detail::require_float(x, "argmax");
  detail::ReducePlan p = detail::plan_reduce(x.shape(), {axis}, "argmax");
  check(p.inner > 0, "argmax", "axis ", axis, " is empty (shape ", shape_str(x.shape()), ")");
  Tensor xc = detail::compact(x.detach().permute(p.permutation));
  Tensor out = detail::empty_on(x, keepdim ? p.keepdim_shape : p.out_shape, DType::Int32);
  detail::backend_of(x).argmax(xc.device_data<float>(), out.device_data<int32_t>(), p.outer, p.inner);
  return out;
}

}  // namespace qgrad
