// softmax and log_softmax along any axis. The axis is moved innermost (permute + compact, a
// no-op when it already is), a fused row kernel of the backend does the work, and the result is
// moved back. Formulas and backward rules: core/ops/softmax.h.
#include "core/ops/softmax.h"

#include "core/ops/op_support.h"

namespace qgrad {

namespace {

std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<int64_t>(i);
  return inv;
}

// Moves the plan's one reduced axis of every input innermost, runs kernel(rows, out) on those
// compact [outer, inner] buffers, and returns out in the inputs' axis order (contiguous).
template <class Kernel>
Tensor along_axis(const detail::ReducePlan& p, const std::vector<Tensor>& inputs, Kernel&& kernel) {
  std::vector<Tensor> rows;
  for (const Tensor& t : inputs) rows.push_back(detail::compact(t.detach().permute(p.permutation)));
  Tensor out = detail::empty_on(rows[0], rows[0].shape());
  kernel(rows, out.device_data<float>());
  return out.permute(inverse_permutation(p.permutation)).contiguous();
}

Tensor softmax_impl(const Tensor& x, int64_t axis, bool log, const char* name) {
  detail::require_float(x, name);
  const detail::ReducePlan p = detail::plan_reduce(x.shape(), {axis}, name);
  Tensor y = along_axis(p, {x}, [&](const std::vector<Tensor>& r, float* out) {
    detail::backend_of(x).softmax_rows(r[0].device_data<float>(), out, p.outer, p.inner, log);
  });
  return record(y, name, {x}, [p, log, y = y.detach()](const Tensor& g) {
    Tensor dx = along_axis(p, {y, g}, [&](const std::vector<Tensor>& r, float* out) {
      detail::backend_of(y).softmax_rows_backward(r[0].device_data<float>(), r[1].device_data<float>(), out, p.outer,
                                                  p.inner, log);
    });
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_impl(x, axis, false, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t axis) { return softmax_impl(x, axis, true, "log_softmax"); }

}  // namespace qgrad
