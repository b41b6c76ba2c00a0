// Losses (formulas in core/ops/loss.h). N = batch, C = classes.
//
// cross_entropy is one fused backend kernel: per row it finds m = max_c x and
// log_sum = log sum_c e^(x - m) and writes loss_n = (m - x[n, t_n]) + log_sum. The backward
// rebuilds softmax from those saved row statistics, (e^(x - m - log_sum) - onehot(t)) / N, in one
// more kernel, rather than differentiating a chain of small ops.
#include "core/ops/loss.h"

#include "core/ops/elementwise.h"
#include "core/ops/op_support.h"
#include "core/ops/reduce.h"

namespace qgrad {

Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  detail::require_float(logits, "cross_entropy");
  check(targets.defined(), "cross_entropy", "targets are undefined");
  check(logits.dim() == 2, "cross_entropy", "logits must be [N, C], got shape ", shape_str(logits.shape()));
  check(targets.dim() == 1, "cross_entropy", "targets must be [N] class indices, got shape ",
        shape_str(targets.shape()));
  check(targets.dtype() == DType::Int32, "cross_entropy", "targets must be int32 class indices, got ",
        dtype_name(targets.dtype()), " (convert with .to(DType::Int32))");
  const int64_t n = logits.size(0), c = logits.size(1);
  check(targets.size(0) == n, "cross_entropy", "logits ", shape_str(logits.shape()), " have ", n,
        " rows but targets ", shape_str(targets.shape()), " have ", targets.size(0));
  check(n > 0, "cross_entropy", "the batch is empty (logits ", shape_str(logits.shape()), ")");
  detail::require_same_device(logits, targets, "cross_entropy");
  Tensor t = targets.contiguous();
  // The range check reads the targets on the host (a copy for a device tensor).
  const Tensor host_t = t.device() == Device::CPU ? t : t.to(Device::CPU);
  const int32_t* hp = host_t.data<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    check(hp[i] >= 0 && hp[i] < c, "cross_entropy", "target ", hp[i], " at position ", i,
          " is outside [0, ", c, ") for logits of shape ", shape_str(logits.shape()));
  const int32_t* tp = t.device_data<int32_t>();

  Tensor x = detail::compact(logits);
  Tensor row_loss = detail::empty_on(logits, {n}), row_max = detail::empty_on(logits, {n}),
         row_log_sum = detail::empty_on(logits, {n});
  Backend& be = detail::backend_of(logits);
  be.cross_entropy_rows(x.device_data<float>(), tp, row_loss.device_data<float>(), row_max.device_data<float>(),
                        row_log_sum.device_data<float>(), n, c);
  Tensor total = detail::empty_on(logits, {});
  be.reduce(ReduceOp::Sum, row_loss.device_data<float>(), total.device_data<float>(), 1, n);
  Tensor out = detail::empty_on(logits, {});
  be.binary_scalar(BinaryOp::Div, total.device_data<float>(), static_cast<float>(n), out.device_data<float>(), 1);
  return record(out, "cross_entropy", {logits}, [x, t, row_max, row_log_sum](const Tensor& g) {
    Tensor dx = detail::empty_on(x, x.shape());
    const float scale = g.item() / static_cast<float>(x.size(0));
    detail::backend_of(x).cross_entropy_rows_backward(x.device_data<float>(), t.device_data<int32_t>(), row_max.device_data<float>(),
                                                      row_log_sum.device_data<float>(), scale, dx.device_data<float>(),
                                                      x.size(0), x.size(1));
    return std::vector<Tensor>{dx};
  });
}

Tensor mse_loss(const Tensor& pred, const Tensor& target) {
  detail::require_float(pred, "mse_loss");
  detail::require_float(target, "mse_loss");
  check(pred.shape() == target.shape(), "mse_loss", "pred ", shape_str(pred.shape()), " and target ",
        shape_str(target.shape()), " must have the same shape");
  check(pred.numel() > 0, "mse_loss", "inputs are empty (shape ", shape_str(pred.shape()), ")");
  Tensor d = sub(pred, target);
  return mean(mul(d, d));
}

}  // namespace qgrad
