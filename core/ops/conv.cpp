// conv2d by im2col + GEMM, forward and backward.
//   N batch, C/O input/output channels, g groups, Cg = C/g, Og = O/g, P = Ho Wo positions,
//   R = Cg kH kW rows of one group's columns.
// Per image and group:
//   forward:  out_g [Og, P]  = W_g [Og, R] @ cols_g [R, P]        (+ bias via beta = 1)
//   dW_g     [Og, R] += dout_g [Og, P] @ cols_g^T [P, R]
//   dcols_g  [R, P]   = W_g^T [R, Og] @ dout_g [Og, P], then col2im(dcols) = dx
//   db = sum of dout over N, Ho, Wo
// Images are independent, so the thread pool (core/parallel.h) spreads chunks of images across
// threads while each GEMM runs single-threaded; dW is summed per chunk and the partial sums added
// in chunk order, so the result is deterministic for a given thread count whatever thread ran
// which chunk. A 1x1 kernel with stride 1 and no padding
// needs no unfolding: the image already is its own column matrix.
#include "core/ops/conv.h"

#include "core/ops/op_support.h"
#include "core/ops/reduce.h"
#include "core/parallel.h"

namespace qgrad {

namespace {

using Grads = std::vector<Tensor>;

// The sizes of one conv2d call, derived once from the checked inputs.
struct ConvPlan {
  int64_t batch = 0, out_c = 0, groups = 1;
  Window2d window;  // over the C planes of one image
  int64_t out_g = 0, rows = 0, positions = 0, image = 0;
  bool unfold_is_identity = false;
  int64_t weight_g() const { return out_g * rows; }  // elements of one group's weight
};

ConvPlan plan_conv(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
  detail::require_float(x, "conv2d");
  detail::require_float(weight, "conv2d");
  detail::require_same_device(x, weight, "conv2d");
  check(x.dim() == 4, "conv2d", "expects input [N, C, H, W], got shape ", shape_str(x.shape()));
  check(weight.dim() == 4, "conv2d", "expects weight [O, C/groups, kH, kW], got shape ", shape_str(weight.shape()));
  check(o.stride >= 1, "conv2d", "stride must be >= 1, got ", o.stride);
  check(o.padding >= 0, "conv2d", "padding must be >= 0, got ", o.padding);
  check(o.dilation >= 1, "conv2d", "dilation must be >= 1, got ", o.dilation);
  check(o.groups >= 1, "conv2d", "groups must be >= 1, got ", o.groups);
  const int64_t c = x.size(1), out_c = weight.size(0);
  check(c % o.groups == 0 && out_c % o.groups == 0, "conv2d", "groups ", o.groups,
        " must divide both the input channels ", c, " (input ", shape_str(x.shape()), ") and the output channels ",
        out_c, " (weight ", shape_str(weight.shape()), ")");
  check(weight.size(1) * o.groups == c, "conv2d", "input ", shape_str(x.shape()), " has ", c,
        " channels but weight ", shape_str(weight.shape()), " with groups ", o.groups, " expects ",
        weight.size(1) * o.groups);
  if (bias.defined()) {
    detail::require_float(bias, "conv2d");
    detail::require_same_device(x, bias, "conv2d");
    check(bias.dim() == 1 && bias.size(0) == out_c, "conv2d", "bias must have shape [", out_c,
          "] to match weight ", shape_str(weight.shape()), ", got ", shape_str(bias.shape()));
  }
  ConvPlan p;
  p.batch = x.size(0);
  p.out_c = out_c;
  p.groups = o.groups;
  Window2d& w = p.window;
  w.planes = c;
  w.height = x.size(2);
  w.width = x.size(3);
  w.kernel_h = weight.size(2);
  w.kernel_w = weight.size(3);
  w.stride = o.stride;
  w.padding = o.padding;
  w.dilation = o.dilation;
  const int64_t span_h = o.dilation * (w.kernel_h - 1) + 1, span_w = o.dilation * (w.kernel_w - 1) + 1;
  w.out_h = (w.height + 2 * o.padding - span_h) / o.stride + 1;
  w.out_w = (w.width + 2 * o.padding - span_w) / o.stride + 1;
  check(w.height + 2 * o.padding >= span_h && w.width + 2 * o.padding >= span_w && w.kernel_h >= 1 &&
            w.kernel_w >= 1, "conv2d", "input ", shape_str(x.shape()), " padded by ", o.padding,
        " is smaller than the kernel ", w.kernel_h, "x", w.kernel_w, " dilated by ", o.dilation,
        " (", span_h, "x", span_w, "): the output would be empty");
  p.out_g = out_c / o.groups;
  p.rows = (c / o.groups) * w.kernel_h * w.kernel_w;
  p.positions = w.out_h * w.out_w;
  p.image = c * w.height * w.width;
  p.unfold_is_identity = w.kernel_h == 1 && w.kernel_w == 1 && o.stride == 1 && o.padding == 0;
  return p;
}

// How a batch is split: chunks of images (a chunk keeps its own dW partial sum), and the
// per-thread slots (scratch buffers) the chunks run in. A single image is one chunk, and each
// GEMM inside it splits across the threads instead.
struct ImageChunks {
  int64_t chunks = 1;
  int slots = 1;
};

ImageChunks image_chunks(int64_t images, Device device) {
  if (device != Device::CPU) return {};  // a GPU's images go one after another: each kernel fills the device
  const int64_t chunks = chunk_count(images, 1);
  return {chunks, parallel_slots(chunks)};
}

// Runs body(image, chunk, slot) for every image.
template <class Body>
void for_each_image(int64_t images, const ImageChunks& split, Body&& body) {
  parallel_chunks(split.chunks, [&](int64_t c, int slot) {
    for (int64_t n = images * c / split.chunks; n < images * (c + 1) / split.chunks; ++n) body(n, c, slot);
  });
}

// The column matrix of image xn: the image itself, or unfolded into scratch.
const float* columns(Backend& be, const ConvPlan& p, const float* xn, float* scratch) {
  if (p.unfold_is_identity) return xn;
  be.im2col(xn, p.window, scratch);
  return scratch;
}

Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvPlan& p) {
  Backend& be = detail::backend_of(x);
  Tensor xc = detail::compact(x), wc = detail::compact(weight);
  Tensor out = detail::empty_on(x, {p.batch, p.out_c, p.window.out_h, p.window.out_w});
  Tensor bc = bias.defined() ? detail::compact(bias) : Tensor();
  const float beta = bias.defined() ? 1.f : 0.f;
  const ImageChunks split = image_chunks(p.batch, x.device());
  Tensor scratch = detail::empty_on(x, {split.slots, p.unfold_is_identity ? 0 : p.rows * p.groups * p.positions});
  const float *xd = xc.device_data<float>(), *wd = wc.device_data<float>();
  float *od = out.device_data<float>(), *sd = scratch.device_data<float>();
  for_each_image(p.batch, split, [&](int64_t n, int64_t, int slot) {
    // The bias enters through GEMM's beta: the image's output starts as the bias broadcast
    // over positions, written just before the GEMM reads it back, while it is still in cache.
    if (bc.defined())
      be.compact(bc.device_data<float>(), DType::Float32, {p.out_c, p.positions}, {1, 0}, 0, od + n * p.out_c * p.positions);
    const float* cols = columns(be, p, xd + n * p.image, sd + slot * scratch.size(1));
    for (int64_t g = 0; g < p.groups; ++g)
      be.gemm(false, false, p.out_g, p.positions, p.rows, 1.f, wd + g * p.weight_g(), p.rows,
              cols + g * p.rows * p.positions, p.positions, beta, od + (n * p.out_c + g * p.out_g) * p.positions,
              p.positions);
  });
  return out;
}

// dx and dW (each only when asked for) from dout, in one pass over the images.
Grads conv2d_backward(const Tensor& x, const Tensor& weight, const Tensor& grad_out, const ConvPlan& p,
                      bool need_x, bool need_w) {
  Backend& be = detail::backend_of(x);
  Tensor xc = detail::compact(x), wc = detail::compact(weight), gc = detail::compact(grad_out);
  const ImageChunks split = image_chunks(p.batch, x.device());
  Tensor dx = need_x ? detail::empty_on(x, x.shape()) : Tensor();
  Tensor dw_partial = need_w ? zeros({split.chunks, p.groups * p.weight_g()}, DType::Float32, x.device()) : Tensor();
  Tensor scratch = detail::empty_on(x, {split.slots, p.unfold_is_identity ? 0 : p.rows * p.groups * p.positions});
  const float *xd = xc.device_data<float>(), *wd = wc.device_data<float>(), *gd = gc.device_data<float>();
  float* sd = scratch.device_data<float>();
  for_each_image(p.batch, split, [&](int64_t n, int64_t chunk, int slot) {
    const float* dout = gd + n * p.out_c * p.positions;
    float* buf = sd + slot * scratch.size(1);
    if (need_w) {
      const float* cols = columns(be, p, xd + n * p.image, buf);
      float* dw = dw_partial.device_data<float>() + chunk * dw_partial.size(1);
      for (int64_t g = 0; g < p.groups; ++g)
        be.gemm(false, true, p.out_g, p.rows, p.positions, 1.f, dout + g * p.out_g * p.positions, p.positions,
                cols + g * p.rows * p.positions, p.positions, 1.f, dw + g * p.weight_g(), p.rows);
    }
    if (need_x) {
      float* dxn = dx.device_data<float>() + n * p.image;
      float* dcols = p.unfold_is_identity ? dxn : buf;
      for (int64_t g = 0; g < p.groups; ++g)
        be.gemm(true, false, p.rows, p.positions, p.out_g, 1.f, wd + g * p.weight_g(), p.rows,
                dout + g * p.out_g * p.positions, p.positions, 0.f, dcols + g * p.rows * p.positions, p.positions);
      if (!p.unfold_is_identity) {
        be.fill(dxn, DType::Float32, p.image, 0.f);
        be.col2im(dcols, p.window, dxn);
      }
    }
  });
  Tensor dw;
  if (need_w) {  // chunk 0's partial sum += the others', in chunk order
    float* d0 = dw_partial.device_data<float>();
    const int64_t size = dw_partial.size(1);
    for (int64_t c = 1; c < split.chunks; ++c) be.binary(BinaryOp::Add, d0, d0 + c * size, d0, size);
    dw = dw_partial.slice(0, 0, 1).reshape(weight.shape());
  }
  return {dx, dw};
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  const ConvPlan p = plan_conv(x, weight, bias, options);
  Tensor out = conv2d_forward(x, weight, bias, p);
  return record(out, "conv2d", {x, weight, bias},
                [p, x = x.detach(), w = weight.detach(), need_x = x.requires_grad(),
                 need_w = weight.requires_grad(), need_b = bias.requires_grad()](const Tensor& g) {
                  Grads grads = conv2d_backward(x, w, g, p, need_x, need_w);
                  grads.push_back(need_b ? sum(g, {0, 2, 3}) : Tensor());
                  return grads;
                });
}

}  // namespace qgrad
