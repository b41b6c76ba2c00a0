#include "quant/intmodel/int_modules.h"

#include <algorithm>
#include <cmath>
#include <limits>


#include "core/error.h"
#include "core/parallel.h"
#include "core/threads.h"
#include "quant/kernels/conv_direct_u8.h"
#include "quant/kernels/max_pool2d_u8.h"
#include "quant/math/packing.h"
#include "quant/math/quantize.h"

namespace qgrad::quant {

namespace {
// QuantizedConv2d::run unrolls and multiplies the batch in chunks of images, each thread one
// chunk at a time: about this many bytes of unrolled images (A) per chunk, and at least
// kConvTasksPerThread chunks per thread. Measured at 1 thread (LeNet batch 256, CIFAR CNN batch
// 64): chunks of 64 KiB to 1 MiB all made the CIFAR convs faster than unrolling the whole batch
// (its second conv 13.0 -> 10.4 ms), and LeNet's convs preferred the larger end (each GEMM call
// has a fixed cost).
constexpr int64_t kConvChunkBytes = 1 << 20;
constexpr int64_t kConvTasksPerThread = 4;

// Per-channel weight scale c (a per-tensor scale serves every channel).
double channel_scale(const QParams& w, int64_t c) {
  return w.scale[static_cast<size_t>(w.per_channel() ? c : 0)];
}

void require_activation(const QParams& qp, const char* what) {
  check(!qp.is_signed && !qp.per_channel(), "convert", what,
        " activations must be per-tensor unsigned (asymmetric), got ", qp.is_signed ? "signed" : "unsigned",
        qp.per_channel() ? " per-channel" : " per-tensor");
}

// requantize() on one value with a real multiplier that quantize_multiplier() splits.
struct FixedMultiplier {
  int32_t m0 = 0;
  int shift = 0;
  explicit FixedMultiplier(double real) { quantize_multiplier(real, &m0, &shift); }
};
}  // namespace

IntGemmParams IntGemmParams::from_float(const Tensor& w, const Tensor& b, const QParams& w_qp,
                                        const QParams& in_qp, const QParams& out_qp, bool relu) {
  require_activation(in_qp, "input");
  require_activation(out_qp, "output");
  check(w_qp.is_signed && std::all_of(w_qp.zero_point.begin(), w_qp.zero_point.end(),
                                      [](int32_t z) { return z == 0; }),
        "convert", "the integer GEMM needs symmetric weights (zero point 0); quantize weights "
        "with --scheme sym");
  const int64_t out = w.size(0), k = w.numel() / out;
  check(!w_qp.per_channel() || (w_qp.axis == 0 && w_qp.channels() == out), "convert",
        "weight QParams must be per-tensor or per output channel (axis 0, ", out, " channels)");
  IntGemmParams p;
  p.qweight = quantize(w.detach().contiguous(), w_qp).reshape({out, k});
  p.weight_bits = w_qp.bits;
  p.per_channel = w_qp.per_channel();
  p.relu = relu;
  p.weight_scale = w_qp.scale;
  p.in_scale = in_qp.scale[0];
  p.out_scale = out_qp.scale[0];
  const std::vector<float> bf = b.defined() ? b.detach().to_vector() : std::vector<float>(out, 0.f);
  const double s_in = in_qp.scale[0];
  for (int64_t o = 0; o < out; ++o) {
    const double acc_scale = s_in * channel_scale(w_qp, o);
    const double bq = std::round(bf[static_cast<size_t>(o)] / acc_scale);
    check(std::fabs(bq) < 2147483647.0, "convert", "bias ", bf[static_cast<size_t>(o)], " of channel ", o,
          " overflows int32 at scale ", acc_scale);
    p.bias.push_back(static_cast<int32_t>(bq));
  }
  p.in_zero_point = in_qp.zero_point[0];
  p.out_zero_point = out_qp.zero_point[0];
  p.qmin = relu ? p.out_zero_point : out_qp.qmin();
  p.qmax = out_qp.qmax();
  return p;
}

IntGemmParams IntGemmParams::from_codebook(const IntCodebook& cb, WeightMethod method, const Tensor& bias,
                                            const QParams& in_qp, const QParams& out_qp, bool relu) {
  const int64_t out = cb.indices.size(0), k = cb.indices.numel() / out;
  IntGemmParams p = from_float(cb.reconstruct(), bias, cb.qparams(), in_qp, out_qp, relu);
  p.qweight = cb.codes().reshape({out, k});
  p.weight_bits = cb.bits;
  p.weight_method = method;
  p.codebook = cb.levels;
  p.indices = cb.indices.contiguous().reshape({out, k});
  return p;
}

std::vector<int8_t> IntGemm::gemm_weight() const {
  const int64_t out = params.qweight.size(0), k = params.qweight.size(1);
  const int8_t* qp = params.qweight.data<int8_t>();
  if (layout_ != Layout::Conv) return std::vector<int8_t>(qp, qp + out * k);
  // A conv's GEMM column j = (ky kW + kx) C + c takes qweight column c kH kW + (ky kW + kx):
  // the im2col rows are channels last, the saved weight is not.
  const int64_t c_in = conv_channels_, taps = c_in > 0 ? k / c_in : 0;
  check(c_in > 0 && c_in * taps == k, "IntGemm", "weight columns ", k, " are not a multiple of ", c_in,
        " channels");
  std::vector<int8_t> reordered(static_cast<size_t>(out * k));
  for (int64_t o = 0; o < out; ++o)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t c = 0; c < c_in; ++c) reordered[static_cast<size_t>(o * k + t * c_in + c)] = qp[o * k + c * taps + t];
  return reordered;
}

IntGemm::IntGemm(IntGemmParams p, Layout layout, int64_t conv_channels)
    : params(std::move(p)), layout_(layout), conv_channels_(conv_channels) {
  const int64_t out = params.qweight.size(0), k = params.qweight.size(1);
  if (layout != Layout::Unpacked) weight = pack_weight(qgemm_kernel(), gemm_weight().data(), out, k);
  for (int64_t o = 0; o < out; ++o) {
    const double acc_scale =
        static_cast<double>(params.in_scale) * params.weight_scale[static_cast<size_t>(params.per_channel ? o : 0)];
    const FixedMultiplier m(acc_scale / static_cast<double>(params.out_scale));
    multiplier.push_back(m.m0);
    shift.push_back(m.shift);
  }
  requant = {.multiplier = multiplier.data(), .shift = shift.data(), .per_channel = true,
             .out_zero_point = params.out_zero_point, .qmin = params.qmin, .qmax = params.qmax};
}

QParams IntGemm::weight_qparams() const {
  QParams q;
  q.scale = params.weight_scale;
  q.zero_point.assign(params.weight_scale.size(), 0);
  q.bits = params.weight_method == WeightMethod::Linear ? params.weight_bits : 8;
  q.is_signed = true;
  if (params.per_channel) q.axis = 0;
  return q;
}

QParams IntGemm::output_qparams() const {
  return activation_qparams(params.out_scale, params.out_zero_point, params.qmax);
}

void IntGemm::run(const uint8_t* a, int64_t m, uint8_t* c) const {
  check(weight.n > 0, "IntGemm", "run needs a packed weight");
  qgemm({.m = m, .a = a, .lda = weight.k, .a_zero_point = params.in_zero_point, .b = &weight,
         .bias = params.bias.data(), .c_u8 = c, .requant = &requant, .ldc = weight.n});
}

void IntGemm::export_tensors(const std::string& prefix, nn::StateDict& out) const {
  const int stored = storage_bits(params.weight_bits);
  if (params.weight_method != WeightMethod::Linear) {
    const Tensor idx = params.indices.contiguous();
    const auto packed = pack_indices(idx.data<uint8_t>(), idx.numel(), params.weight_bits);
    out[prefix + ".weight"] = from_vector<uint8_t>(packed, {static_cast<int64_t>(packed.size())});
    out[prefix + ".codebook"] =
        from_vector<int8_t>(params.codebook, {static_cast<int64_t>(params.codebook.size())});
  } else if (stored == 8) {
    out[prefix + ".weight"] = params.qweight;
  } else {
    const Tensor w = params.qweight.contiguous();
    const auto packed = pack_codes(w.data<int8_t>(), w.numel(), stored);
    out[prefix + ".weight"] = from_vector<uint8_t>(packed, {static_cast<int64_t>(packed.size())});
  }
  out[prefix + ".weight_scale"] =
      from_vector<float>(params.weight_scale, {static_cast<int64_t>(params.weight_scale.size())});
  out[prefix + ".bias"] = from_vector<int32_t>(params.bias, {static_cast<int64_t>(params.bias.size())});
  out[prefix + ".zero_points"] =
      from_vector<int32_t>({params.in_zero_point, params.out_zero_point, params.qmin, params.qmax}, {4});
  out[prefix + ".scales"] = from_vector<float>({params.in_scale, params.out_scale}, {2});
}

std::string IntGemm::options() const {
  return cat("weight_bits=", params.weight_bits, ", granularity=", params.per_channel ? "channel" : "tensor",
             ", relu=", params.relu ? 1 : 0,
             params.weight_method == WeightMethod::Linear ? std::string() : ", weights=" + to_string(params.weight_method));
}

std::string QuantizedLinear::describe() const {
  return cat(name(), "(in=", gemm_.weight.k, ", out=", gemm_.weight.n, ", ", gemm_.options(), ")");
}

Tensor QuantizedLinear::run(const Tensor& q) const {
  check(q.dim() == 2 && q.size(1) == gemm_.weight.k && q.dtype() == DType::UInt8, "QuantizedLinear",
        "expects uint8 [N, ", gemm_.weight.k, "], got ", shape_str(q.shape()));
  const Tensor a = q.contiguous();
  Tensor out = empty({q.size(0), gemm_.weight.n}, DType::UInt8);
  gemm_.run(a.data<uint8_t>(), q.size(0), out.data<uint8_t>());
  return out;
}

namespace {
const IntConvShape& checked(const IntConvShape& s, const Tensor& qweight) {
  check(s.in > 0 && s.out > 0 && s.kernel_h > 0 && s.kernel_w > 0 && s.stride > 0 && s.padding >= 0 &&
            s.dilation > 0 && s.groups > 0 && s.in % s.groups == 0 && s.out % s.groups == 0,
        "QuantizedConv2d", "invalid shape in=", s.in, ", out=", s.out, ", kernel ", s.kernel_h, "x", s.kernel_w,
        ", stride=", s.stride, ", padding=", s.padding, ", dilation=", s.dilation, ", groups=", s.groups);
  check(qweight.dim() == 2 && qweight.size(0) == s.out && qweight.size(1) == s.depth(), "QuantizedConv2d", "weight ",
        shape_str(qweight.shape()), " does not hold ", s.out, " x (", s.in / s.groups, " x ", s.kernel_h, " x ",
        s.kernel_w, ")");
  return s;
}

// The stored weight [O, C/g, kH, kW] as the direct kernel reads it: [kH, kW, C/g, O].
std::vector<int8_t> direct_layout(const IntConvShape& s, const Tensor& qweight) {
  const int64_t cg = s.in / s.groups, taps = s.kernel_h * s.kernel_w;
  const int8_t* w = qweight.data<int8_t>();
  std::vector<int8_t> out(static_cast<size_t>(s.out * cg * taps));
  for (int64_t o = 0; o < s.out; ++o)
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t t = 0; t < taps; ++t) out[static_cast<size_t>((t * cg + c) * s.out + o)] = w[(o * cg + c) * taps + t];
  return out;
}

IntGemm::Layout conv_layout(const IntConvShape& s) {
  return s.groups != 1 || s.dilation != 1 ? IntGemm::Layout::Unpacked : IntGemm::Layout::Conv;
}
}  // namespace

QuantizedConv2d::QuantizedConv2d(const Tensor& weight, const Tensor& bias, const QParams& w_qp,
                                 const QParams& in_qp, const QParams& out_qp, bool relu, const IntConvShape& shape)
    : QuantizedConv2d(IntGemmParams::from_float(weight, bias, w_qp, in_qp, out_qp, relu), shape) {
  check(weight.dim() == 4 && weight.size(2) == shape.kernel_h && weight.size(3) == shape.kernel_w, "QuantizedConv2d",
        "weight ", shape_str(weight.shape()), " does not have a ", shape.kernel_h, "x", shape.kernel_w, " kernel");
}

QuantizedConv2d::QuantizedConv2d(IntGemmParams p, const IntConvShape& shape)
    : shape_(checked(shape, p.qweight)), gemm_(std::move(p), conv_layout(shape), shape.in / shape.groups) {
  if (direct()) direct_weight_ = direct_layout(shape_, gemm_.params.qweight);
}

std::string QuantizedConv2d::describe() const {
  const IntConvShape& s = shape_;
  // Square kernels, groups 1 and dilation 1 keep the line files had before those options existed.
  const std::string kernel = s.kernel_h == s.kernel_w ? cat("kernel=", s.kernel_h)
                                                      : cat("kernel_h=", s.kernel_h, ", kernel_w=", s.kernel_w);
  std::string extra;
  if (s.dilation != 1) extra += cat(", dilation=", s.dilation);
  if (s.groups != 1) extra += cat(", groups=", s.groups);
  return cat(name(), "(in=", s.in, ", out=", s.out, ", ", kernel, ", stride=", s.stride, ", padding=", s.padding,
             extra, ", ", gemm_.options(), ")");
}

DirectConvShape QuantizedConv2d::geometry(const Tensor& q) const {
  const IntConvShape& s = shape_;
  check(q.dim() == 4 && q.size(3) == s.in && q.dtype() == DType::UInt8, "QuantizedConv2d",
        "expects ", s.in, " input channels (uint8 [N, H, W, ", s.in,
        "], channels last inside the integer model), got ", shape_str(q.shape()));
  const DirectConvShape d{.batch = q.size(0), .height = q.size(1), .width = q.size(2), .channels = s.in,
                          .out_channels = s.out, .kernel_h = s.kernel_h, .kernel_w = s.kernel_w, .stride = s.stride,
                          .padding = s.padding, .dilation = s.dilation, .groups = s.groups};
  check(d.out_h() >= 1 && d.out_w() >= 1, "QuantizedConv2d", "a ", s.kernel_h, "x", s.kernel_w, " kernel (dilation ",
        s.dilation, ", padding ", s.padding, ") does not fit input ", shape_str(q.shape()));
  return d;
}

Im2colShape QuantizedConv2d::im2col_shape(int64_t height, int64_t width) const {
  return Im2colShape{.channels = shape_.in, .height = height, .width = width, .kernel_h = shape_.kernel_h,
                     .kernel_w = shape_.kernel_w, .stride_h = shape_.stride, .stride_w = shape_.stride,
                     .pad_h = shape_.padding, .pad_w = shape_.padding};
}

Tensor QuantizedConv2d::run(const Tensor& q) const {
  const DirectConvShape d = geometry(q);
  const IntConvShape& s = shape_;
  const Tensor x = q.contiguous();
  Tensor out = empty({d.batch, d.out_h(), d.out_w(), s.out}, DType::UInt8);
  if (direct()) {
    conv_direct_u8(x.data<uint8_t>(), d, gemm_.params.in_zero_point, direct_weight_.data(), gemm_.params.bias.data(),
                   gemm_.requant, out.data<uint8_t>());
    return out;
  }
  run_im2col(x, out);
  return out;
}

void QuantizedConv2d::run_im2col(const Tensor& x, Tensor& out) const {
  const Im2colShape s = im2col_shape(x.size(1), x.size(2));
  const int64_t n = x.size(0), rows = s.rows(), cols = s.cols(), image = s.channels * s.height * s.width;
  if (s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.pad_h == 0) {  // a 1x1 conv is a Linear over the pixels
    gemm_.run(x.data<uint8_t>(), n * rows, out.data<uint8_t>());
    return;
  }
  const uint8_t zp = static_cast<uint8_t>(gemm_.params.in_zero_point);
  const int64_t a_image = rows * cols, o_image = rows * shape_.out;
  const uint8_t* xp = x.data<uint8_t>();
  uint8_t* op = out.data<uint8_t>();
  const int64_t min_tasks = kConvTasksPerThread * get_num_threads();
  if (n >= min_tasks) {
    // Images are independent: each thread unrolls a chunk of images into its own A and multiplies
    // it, one parallel region per layer, A reused while it is still in cache. (Unrolling the whole
    // batch first and then one parallel GEMM: two regions, and an A of 5 MB at LeNet conv1,
    // batch 256, written to memory and read back.) The GEMM inside runs on this thread alone: a
    // parallel loop inside a chunk of the pool runs serially (core/parallel.h).
    const int64_t chunk = std::clamp<int64_t>(kConvChunkBytes / a_image, 1, n / min_tasks);
    const int64_t tasks = (n + chunk - 1) / chunk;
    parallel_chunks(tasks, [&](int64_t t, int) {  // one task per chunk, handed out as threads come free
      thread_local std::vector<uint8_t> a;  // reused from call to call (fresh pages cost more than the im2col)
      a.resize(static_cast<size_t>(chunk * a_image));
      const int64_t i0 = t * chunk, i1 = std::min(n, i0 + chunk);
      for (int64_t i = i0; i < i1; ++i) im2col_u8(xp + i * image, s, zp, a.data() + (i - i0) * a_image);
      gemm_.run(a.data(), (i1 - i0) * rows, op + i0 * o_image);  // [images, Ho, Wo, O]
    });
    return;
  }
  // Few images (batch 1): unroll them all, then one GEMM that splits its rows between threads.
  // The unrolled matrix is reused from call to call, like the per-thread ones above.
  thread_local std::vector<uint8_t> buffer;
  buffer.resize(static_cast<size_t>(n * a_image));
  uint8_t* a = buffer.data();
  parallel_for(n, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) im2col_u8(xp + i * image, s, zp, a + i * a_image);
  });
  gemm_.run(a, n * rows, op);  // [N Ho Wo, O] = [N, Ho, Wo, O]
}

namespace {
// The pooling windows of a channels-last uint8 tensor [N, H, W, C]: each() calls
// f(first, rows, cols, row_stride, out) for every output pixel, with the window's in-bounds
// part (padded positions are left out) as pixels of C channels; out receives C values. The
// channel loop is innermost and contiguous, so it vectorizes; N Ho rows run in parallel.
struct Windows {
  int64_t n, h, w, c, kernel, stride, padding, oh, ow;
  Windows(const Tensor& q, const Pool2dOptions& o)
      : n(q.size(0)), h(q.size(1)), w(q.size(2)), c(q.size(3)), kernel(o.kernel),
        stride(o.stride > 0 ? o.stride : o.kernel), padding(o.padding),
        oh((h + 2 * padding - kernel) / stride + 1), ow((w + 2 * padding - kernel) / stride + 1) {
    check(oh >= 1 && ow >= 1, "int pool", "window ", kernel, " does not fit input ", shape_str(q.shape()));
  }
  template <class F>
  void each(const uint8_t* x, uint8_t* y, F f) const {
    parallel_for(n * oh, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t row = lo; row < hi; ++row) {
        const int64_t i = row / oh, oy = row % oh;
        const uint8_t* in = x + i * h * w * c;
        const int64_t y0 = std::max<int64_t>(0, oy * stride - padding);
        const int64_t y1 = std::min<int64_t>(h, oy * stride - padding + kernel);
        for (int64_t ox = 0; ox < ow; ++ox) {
          const int64_t x0 = std::max<int64_t>(0, ox * stride - padding);
          const int64_t x1 = std::min<int64_t>(w, ox * stride - padding + kernel);
          f(in + (y0 * w + x0) * c, y1 - y0, x1 - x0, w * c, y + (row * ow + ox) * c);
        }
      }
    });
  }
};
}  // namespace

std::string IntMaxPool2d::describe() const {
  return cat(name(), "(kernel=", options_.kernel, ", stride=", options_.stride, ", padding=", options_.padding, ")");
}

MaxPoolShape IntMaxPool2d::checked_shape(const Tensor& q) const {
  check(q.dim() == 4 && q.dtype() == DType::UInt8, "IntMaxPool2d", "expects uint8 channels-last [N, H, W, C], got ",
        shape_str(q.shape()));
  const MaxPoolShape s{.batch = q.size(0), .height = q.size(1), .width = q.size(2), .channels = q.size(3),
                       .options = options_};
  check_max_pool_shape(s);
  return s;
}

Tensor IntMaxPool2d::run(const Tensor& q) const {
  const MaxPoolShape s = checked_shape(q);
  const Tensor x = q.contiguous();
  Tensor out = empty({s.batch, s.out_h(), s.out_w(), s.channels}, DType::UInt8);
  max_pool2d_u8(x.data<uint8_t>(), s, out.data<uint8_t>());
  return out;
}

IntAvgPool2d::IntAvgPool2d(const Pool2dOptions& options, bool global, const QParams& in_qp,
                           const QParams& out_qp)
    : options_(options), global_(global), in_scale_(in_qp.scale[0]), out_scale_(out_qp.scale[0]),
      in_over_out_(static_cast<double>(in_qp.scale[0]) / out_qp.scale[0]), in_zp_(in_qp.zero_point[0]), out_zp_(out_qp.zero_point[0]), qmax_(out_qp.qmax()) {
  require_activation(in_qp, "average pool input");
  require_activation(out_qp, "average pool output");
}

std::string IntAvgPool2d::describe() const {
  return global_ ? name()
                 : cat(name(), "(kernel=", options_.kernel, ", stride=", options_.stride, ", padding=",
                       options_.padding, ")");
}

void IntAvgPool2d::export_tensors(const std::string& prefix, nn::StateDict& out) const {
  out[prefix + ".zero_points"] = from_vector<int32_t>({in_zp_, out_zp_, 0, qmax_}, {4});
  out[prefix + ".scales"] = from_vector<float>({in_scale_, out_scale_}, {2});
}

std::optional<QParams> IntAvgPool2d::output_qparams() const { return activation_qparams(out_scale_, out_zp_, qmax_); }

Tensor IntAvgPool2d::run(const Tensor& q) const {
  check(q.dim() == 4 && q.dtype() == DType::UInt8, name().c_str(), "expects uint8 channels-last [N, H, W, C], got ",
        shape_str(q.shape()));
  const Tensor x = q.contiguous();
  const Pool2dOptions o = global_ ? Pool2dOptions{.kernel = q.size(1), .stride = 1} : options_;
  check(!global_ || q.size(1) == q.size(2), name().c_str(), "expects a square input, got ", shape_str(q.shape()));
  const Windows win(x, o);
  const FixedMultiplier m(in_over_out_ / static_cast<double>(o.kernel * o.kernel));
  Tensor out = empty({win.n, win.oh, win.ow, win.c}, DType::UInt8);
  const int64_t c = win.c;
  win.each(x.data<uint8_t>(), out.data<uint8_t>(),
           [&](const uint8_t* p, int64_t rows, int64_t cols, int64_t ld, uint8_t* o) {
             // acc[ch] = sum over the window of q - zp; padded positions are real 0, i.e. add 0.
             thread_local std::vector<int32_t> acc;  // one buffer per thread, not per window
             acc.assign(static_cast<size_t>(c), static_cast<int32_t>(-in_zp_ * rows * cols));
             for (int64_t r = 0; r < rows; ++r)
               for (int64_t j = 0; j < cols; ++j) {
                 const uint8_t* px = p + r * ld + j * c;
                 for (int64_t ch = 0; ch < c; ++ch) acc[static_cast<size_t>(ch)] += px[ch];
               }
             for (int64_t ch = 0; ch < c; ++ch)
               o[ch] = static_cast<uint8_t>(requantize(acc[static_cast<size_t>(ch)], m.m0, m.shift, out_zp_, 0, qmax_));
           });
  return global_ ? out.reshape({win.n, win.c}) : out;
}

Tensor IntFlatten::run(const Tensor& q) const {
  // Channels-last activations go back to PyTorch's (c, y, x) order before flattening: the
  // following Linear's weights were trained on that order.
  if (q.dim() == 4) return q.permute({0, 3, 1, 2}).contiguous().flatten(1);
  return q.contiguous().flatten(1);
}

std::string IntReLU::describe() const { return cat(name(), "(zero_point=", zero_point_, ")"); }

Tensor IntReLU::run(const Tensor& q) const {
  Tensor out = q.contiguous().clone();
  uint8_t* p = out.data<uint8_t>();
  for (int64_t i = 0; i < out.numel(); ++i) p[i] = std::max<int32_t>(p[i], zero_point_);
  return out;
}

}  // namespace qgrad::quant
