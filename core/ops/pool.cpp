// max_pool2d and avg_pool2d: shape checks and autograd around the backend's pooling kernels,
// which see the input as N C planes of [H, W]. max_pool2d keeps the argmax of every window
// (int32, in-plane index) so its backward is a scatter; avg_pool2d's backward needs nothing.
#include "core/ops/pool.h"

#include <climits>

#include "core/ops/op_support.h"

namespace qgrad {

namespace {

using Grads = std::vector<Tensor>;

// PyTorch's rule padding <= kernel / 2 keeps every window overlapping the image, so a max
// always has a real element to pick and no output is made of padding alone.
Window2d plan_pool(const Tensor& x, const Pool2dOptions& o, const char* op) {
  detail::require_float(x, op);
  check(x.dim() == 4, op, "expects input [N, C, H, W], got shape ", shape_str(x.shape()));
  check(o.kernel >= 1, op, "kernel must be >= 1, got ", o.kernel);
  check(o.stride >= 0, op, "stride must be >= 1 (or 0 for stride = kernel), got ", o.stride);
  check(o.padding >= 0 && o.padding <= o.kernel / 2, op, "padding must be between 0 and kernel / 2 = ",
        o.kernel / 2, ", got padding ", o.padding, " with kernel ", o.kernel);
  Window2d w;
  w.planes = x.size(0) * x.size(1);
  w.height = x.size(2);
  w.width = x.size(3);
  w.kernel_h = w.kernel_w = o.kernel;
  w.stride = o.stride == 0 ? o.kernel : o.stride;
  w.padding = o.padding;
  check(w.height + 2 * o.padding >= o.kernel && w.width + 2 * o.padding >= o.kernel, op, "input ",
        shape_str(x.shape()), " padded by ", o.padding, " is smaller than the kernel ", o.kernel,
        ": the output would be empty");
  check(w.height * w.width <= INT_MAX, op, "a plane of ", w.height, "x", w.width, " is too large");
  w.out_h = (w.height + 2 * o.padding - o.kernel) / w.stride + 1;
  w.out_w = (w.width + 2 * o.padding - o.kernel) / w.stride + 1;
  return w;
}

Shape pooled_shape(const Tensor& x, const Window2d& w) { return {x.size(0), x.size(1), w.out_h, w.out_w}; }

}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options) {
  const Window2d w = plan_pool(x, options, "max_pool2d");
  Tensor xc = detail::compact(x);
  Tensor out = detail::empty_on(x, pooled_shape(x, w));
  Tensor argmax = detail::empty_on(x, out.shape(), DType::Int32);
  detail::backend_of(x).max_pool2d_forward(xc.device_data<float>(), w, out.device_data<float>(), argmax.device_data<int32_t>());
  return record(out, "max_pool2d", {x}, [w, argmax, shape = x.shape()](const Tensor& g) {
    Tensor gc = detail::compact(g), dx = detail::empty_on(g, shape);
    detail::backend_of(g).max_pool2d_backward(gc.device_data<float>(), argmax.device_data<int32_t>(), w, dx.device_data<float>());
    return Grads{dx};
  });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options) {
  const Window2d w = plan_pool(x, options, "avg_pool2d");
  Tensor xc = detail::compact(x);
  Tensor out = detail::empty_on(x, pooled_shape(x, w));
  detail::backend_of(x).avg_pool2d_forward(xc.device_data<float>(), w, out.device_data<float>());
  return record(out, "avg_pool2d", {x}, [w, shape = x.shape()](const Tensor& g) {
    Tensor gc = detail::compact(g), dx = detail::empty_on(g, shape);
    detail::backend_of(g).avg_pool2d_backward(gc.device_data<float>(), w, dx.device_data<float>());
    return Grads{dx};
  });
}

}  // namespace qgrad
