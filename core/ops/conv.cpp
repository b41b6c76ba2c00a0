// conv2d by im2col + GEMM, forward and backward.
//   N batch, C/O input/output channels, g groups, Cg = C/g, Og = O/g, P = Ho Wo positions,
//   R = Cg kH kW rows of one group's columns, n images unfolded side by side into one column
//   matrix cols [g R, n P] (Backend::im2col), so one GEMM per group covers them all.
// Per group of n images and conv group:
//   forward:  out_g [Og, n P]  = W_g [Og, R] @ cols_g [R, n P]        (+ bias via beta = 1)
//   dW_g      [Og, R]  += dout_g [Og, n P] @ cols_g^T [n P, R]
//   dcols_g   [R, n P]  = W_g^T [R, Og] @ dout_g [Og, n P], then col2im(dcols) = dx
//   db = sum of dout over N, Ho, Wo
// NCHW keeps an image's channels together ([n, O, P]) where the GEMMs want the images side by
// side ([O, n P]): out and dout go through a permuted copy, O n P floats against the GEMM's
// O R n P multiply-adds. Why groups of images: per image, the last stage of the CIFAR CNN has
// P = 64, so dW was a sum of GEMMs with k = 64, each loading and storing all of dW; with n
// images k = n P, and every GEMM is n times wider. n is the largest count whose columns stay
// about kColumnFloats; n = 1 is the per-image algorithm (conv2d_images_per_gemm(..., 1)), the
// reference the grouped path is tested against.
// Images are independent, so the thread pool (core/parallel.h) spreads chunks of images across
// threads while each GEMM runs single-threaded; dW is summed per chunk (its groups in order) and
// the partial sums added in chunk order, so the result is deterministic for a given thread count
// whatever thread ran which chunk. A 1x1 kernel with stride 1 and no padding needs no unfolding
// for a single image: the image already is its own column matrix.
#include <algorithm>

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

// How a batch is split: chunks of images spread over the thread pool (a chunk keeps its own dW
// partial sum), the per-thread slots (scratch buffers) the chunks run in, and how many images
// share one im2col buffer and one GEMM. A chunk runs its images in groups of at most
// images_per_gemm, one after another, so a chunk's dW is summed in a fixed order too.
struct ImageChunks {
  int64_t chunks = 1;
  int slots = 1;
  int64_t images_per_gemm = 1;
};

// About this many floats of columns per GEMM (2 MiB, an L2 here). The GEMMs of a group read the
// columns right after im2col wrote them, so they should still be in cache; and the more images a
// group holds, the longer the weight gradient's sum (k = images x positions, which is only 64 per
// image in the CIFAR CNN's last stage) and the wider the other two GEMMs.
constexpr int64_t kColumnFloats = 1 << 19;

int64_t images_per_gemm(const ConvPlan& p) {
  const int64_t per_image = std::max<int64_t>(p.rows * p.groups * p.positions, 1);
  return std::clamp<int64_t>(kColumnFloats / per_image, 1, std::max<int64_t>(p.batch, 1));
}

ImageChunks image_chunks(const ConvPlan& p, Device device, int64_t per_gemm) {
  // A GPU's images go one group after another: each kernel fills the device.
  if (device != Device::CPU) return {1, 1, per_gemm};
  const int64_t chunks = chunk_count(p.batch, per_gemm);
  return {chunks, parallel_slots(chunks), per_gemm};
}

// Runs body(first, count, chunk, slot) for every group of images: chunk c's images split into
// ceil(size / images_per_gemm) groups of near-equal size.
template <class Body>
void for_each_group(int64_t images, const ImageChunks& split, Body&& body) {
  parallel_chunks(split.chunks, [&](int64_t c, int slot) {
    const int64_t lo = images * c / split.chunks, size = images * (c + 1) / split.chunks - lo;
    const int64_t groups = (size + split.images_per_gemm - 1) / split.images_per_gemm;
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t first = lo + size * g / groups;
      body(first, lo + size * (g + 1) / groups - first, c, slot);
    }
  });
}

// One slot's scratch: the group's columns [R g, n P] and its outputs (or output gradients) in
// GEMM layout [O, n P], images side by side. A single image needs neither when its columns are
// the image itself (1x1 kernel), and its output already has the GEMM layout.
struct Scratch {
  Tensor buffer;
  int64_t cols = 0, outs = 0;  // floats of each part
  float* cols_of(int slot) { return buffer.device_data<float>() + slot * (cols + outs); }
  float* outs_of(int slot) { return cols_of(slot) + cols; }
};

Scratch make_scratch(const Tensor& like, const ConvPlan& p, const ImageChunks& split) {
  const int64_t n = split.images_per_gemm;
  Scratch s;
  s.cols = p.unfold_is_identity && n == 1 ? 0 : p.rows * p.groups * n * p.positions;
  s.outs = n == 1 ? 0 : p.out_c * n * p.positions;
  s.buffer = detail::empty_on(like, {split.slots, s.cols + s.outs});
  return s;
}

// The column matrix [R g, n P] of the n images from xn on: an image itself, or unfolded into cols.
const float* columns(Backend& be, const ConvPlan& p, const float* xn, int64_t n, float* cols) {
  if (p.unfold_is_identity && n == 1) return xn;
  be.im2col(xn, n, p.window, cols);
  return cols;
}

// Between NCHW's [n, O, P] and the GEMMs' [O, n P] (a permuted copy; nothing to do for n = 1).
void to_gemm_layout(Backend& be, const ConvPlan& p, const float* nchw, int64_t n, float* gemm) {
  be.compact(nchw, DType::Float32, {p.out_c, n, p.positions}, {p.positions, p.out_c * p.positions, 1}, 0, gemm);
}
void from_gemm_layout(Backend& be, const ConvPlan& p, const float* gemm, int64_t n, float* nchw) {
  be.compact(gemm, DType::Float32, {n, p.out_c, p.positions}, {p.positions, n * p.positions, 1}, 0, nchw);
}

Tensor conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const ConvPlan& p,
                      int64_t per_gemm) {
  Backend& be = detail::backend_of(x);
  Tensor xc = detail::compact(x), wc = detail::compact(weight);
  Tensor out = detail::empty_on(x, {p.batch, p.out_c, p.window.out_h, p.window.out_w});
  Tensor bc = bias.defined() ? detail::compact(bias) : Tensor();
  const float beta = bias.defined() ? 1.f : 0.f;
  const ImageChunks split = image_chunks(p, x.device(), per_gemm);
  Scratch scratch = make_scratch(x, p, split);
  const float *xd = xc.device_data<float>(), *wd = wc.device_data<float>();
  float* od = out.device_data<float>();
  for_each_group(p.batch, split, [&](int64_t first, int64_t n, int64_t, int slot) {
    const int64_t width = n * p.positions;  // of the GEMM's output
    float* y = n == 1 ? od + first * p.out_c * p.positions : scratch.outs_of(slot);
    // The bias enters through GEMM's beta: the output starts as the bias broadcast over
    // positions, written just before the GEMM reads it back, while it is still in cache.
    if (bc.defined()) be.compact(bc.device_data<float>(), DType::Float32, {p.out_c, width}, {1, 0}, 0, y);
    const float* cols = columns(be, p, xd + first * p.image, n, scratch.cols_of(slot));
    for (int64_t g = 0; g < p.groups; ++g)
      be.gemm(false, false, p.out_g, width, p.rows, 1.f, wd + g * p.weight_g(), p.rows, cols + g * p.rows * width,
              width, beta, y + g * p.out_g * width, width);
    if (n > 1) from_gemm_layout(be, p, y, n, od + first * p.out_c * p.positions);
  });
  return out;
}

// dx and dW (each only when asked for) from dout, in one pass over the images.
Grads conv2d_backward(const Tensor& x, const Tensor& weight, const Tensor& grad_out, const ConvPlan& p,
                      int64_t per_gemm, bool need_x, bool need_w) {
  Backend& be = detail::backend_of(x);
  Tensor xc = detail::compact(x), wc = detail::compact(weight), gc = detail::compact(grad_out);
  const ImageChunks split = image_chunks(p, x.device(), per_gemm);
  Tensor dx = need_x ? detail::empty_on(x, x.shape()) : Tensor();
  Tensor dw_partial = need_w ? zeros({split.chunks, p.groups * p.weight_g()}, DType::Float32, x.device()) : Tensor();
  Scratch scratch = make_scratch(x, p, split);
  const float *xd = xc.device_data<float>(), *wd = wc.device_data<float>(), *gd = gc.device_data<float>();
  for_each_group(p.batch, split, [&](int64_t first, int64_t n, int64_t chunk, int slot) {
    const int64_t width = n * p.positions;
    const float* dout = gd + first * p.out_c * p.positions;
    if (n > 1) {
      to_gemm_layout(be, p, dout, n, scratch.outs_of(slot));
      dout = scratch.outs_of(slot);
    }
    float* buf = scratch.cols_of(slot);
    if (need_w) {
      const float* cols = columns(be, p, xd + first * p.image, n, buf);
      float* dw = dw_partial.device_data<float>() + chunk * dw_partial.size(1);
      for (int64_t g = 0; g < p.groups; ++g)
        be.gemm(false, true, p.out_g, p.rows, width, 1.f, dout + g * p.out_g * width, width,
                cols + g * p.rows * width, width, 1.f, dw + g * p.weight_g(), p.rows);
    }
    if (need_x) {
      float* dxn = dx.device_data<float>() + first * p.image;
      const bool direct = p.unfold_is_identity && n == 1;  // the image is its own column matrix
      float* dcols = direct ? dxn : buf;
      for (int64_t g = 0; g < p.groups; ++g)
        be.gemm(true, false, p.rows, width, p.out_g, 1.f, wd + g * p.weight_g(), p.rows, dout + g * p.out_g * width,
                width, 0.f, dcols + g * p.rows * width, width);
      if (!direct) {
        be.fill(dxn, DType::Float32, n * p.image, 0.f);
        be.col2im(dcols, n, p.window, dxn);
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

Tensor conv2d_grouped(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
                      int64_t per_gemm) {
  const ConvPlan p = plan_conv(x, weight, bias, options);
  if (per_gemm <= 0) per_gemm = x.device() == Device::CPU ? images_per_gemm(p) : 1;
  Tensor out = conv2d_forward(x, weight, bias, p, per_gemm);
  return record(out, "conv2d", {x, weight, bias},
                [p, per_gemm, x = x.detach(), w = weight.detach(), need_x = x.requires_grad(),
                 need_w = weight.requires_grad(), need_b = bias.requires_grad()](const Tensor& g) {
                  Grads grads = conv2d_backward(x, w, g, p, per_gemm, need_x, need_w);
                  grads.push_back(need_b ? sum(g, {0, 2, 3}) : Tensor());
                  return grads;
                });
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  return conv2d_grouped(x, weight, bias, options, 0);
}

Tensor conv2d_images_per_gemm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                              const Conv2dOptions& options, int64_t images_per_gemm) {
  check(images_per_gemm >= 1, "conv2d", "images per GEMM must be >= 1, got ", images_per_gemm);
  return conv2d_grouped(x, weight, bias, options, images_per_gemm);
}

}  // namespace qgrad
