#include "quant/int_modules.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "quant/packing.h"
#include "quant/quantize.h"

namespace qgrad::quant {

namespace {
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

IntGemm::IntGemm(const Tensor& w, const Tensor& b, const QParams& w_qp, const QParams& in_qp,
                 const QParams& out_qp, bool relu) {
  require_activation(in_qp, "input");
  require_activation(out_qp, "output");
  check(w_qp.is_signed && std::all_of(w_qp.zero_point.begin(), w_qp.zero_point.end(),
                                      [](int32_t z) { return z == 0; }),
        "convert", "the integer GEMM needs symmetric weights (zero point 0); quantize weights "
        "with --scheme sym");
  const int64_t out = w.size(0), k = w.numel() / out;
  check(!w_qp.per_channel() || (w_qp.axis == 0 && w_qp.channels() == out), "convert",
        "weight QParams must be per-tensor or per output channel (axis 0, ", out, " channels)");
  qweight = quantize(w.detach().contiguous(), w_qp).reshape({out, k});
  weight_bits = w_qp.bits;
  per_channel = w_qp.per_channel();
  this->relu = relu;
  weight_scale = w_qp.scale;
  in_scale = in_qp.scale[0];
  out_scale = out_qp.scale[0];
  const std::vector<float> bf = b.defined() ? b.detach().to_vector() : std::vector<float>(out, 0.f);
  const double s_in = in_qp.scale[0];
  for (int64_t o = 0; o < out; ++o) {
    const double acc_scale = s_in * channel_scale(w_qp, o);
    const double bq = std::round(bf[static_cast<size_t>(o)] / acc_scale);
    check(std::fabs(bq) < 2147483647.0, "convert", "bias ", bf[static_cast<size_t>(o)], " of channel ", o,
          " overflows int32 at scale ", acc_scale);
    bias.push_back(static_cast<int32_t>(bq));
  }
  in_zero_point = in_qp.zero_point[0];
  const int32_t zp = out_qp.zero_point[0];
  requant = {.out_zero_point = zp, .qmin = relu ? zp : out_qp.qmin(), .qmax = out_qp.qmax()};
  finish();
}

IntGemm::IntGemm(const IntGemmParams& p)
    : qweight(p.qweight), bias(p.bias), in_zero_point(p.in_zero_point),
      weight_bits(p.weight_bits), per_channel(p.per_channel), relu(p.relu), weight_scale(p.weight_scale),
      in_scale(p.in_scale), out_scale(p.out_scale) {
  requant = {.out_zero_point = p.out_zero_point, .qmin = p.qmin, .qmax = p.qmax};
  finish();
}

void IntGemm::finish() {
  const int64_t out = qweight.size(0), k = qweight.size(1);
  const int8_t* qp = qweight.data<int8_t>();
  std::vector<int8_t> bt(static_cast<size_t>(k * out));  // W^T [k, out]
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < k; ++j) bt[static_cast<size_t>(j * out + o)] = qp[o * k + j];
  weight = pack_b(bt.data(), k, out, out);
  multiplier.clear();
  shift.clear();
  for (int64_t o = 0; o < out; ++o) {
    const double acc_scale = static_cast<double>(in_scale) * weight_scale[static_cast<size_t>(per_channel ? o : 0)];
    const FixedMultiplier m(acc_scale / static_cast<double>(out_scale));
    multiplier.push_back(m.m0);
    shift.push_back(m.shift);
  }
  requant.multiplier = multiplier.data();
  requant.shift = shift.data();
  requant.per_channel = true;
}

QParams IntGemm::weight_qparams() const {
  QParams q;
  q.scale = weight_scale;
  q.zero_point.assign(weight_scale.size(), 0);
  q.bits = weight_bits;
  q.is_signed = true;
  if (per_channel) q.axis = 0;
  return q;
}

namespace {
// Per-tensor unsigned activation QParams; the bit width is the one whose qmax is 2^bits - 1.
QParams activation_qparams(float scale, int32_t zero_point, int32_t qmax) {
  QParams q;
  q.scale = {scale};
  q.zero_point = {zero_point};
  q.bits = 1;
  while ((1 << q.bits) - 1 < qmax) ++q.bits;
  return q;
}
}  // namespace

QParams IntGemm::output_qparams() const {
  return activation_qparams(out_scale, requant.out_zero_point, requant.qmax);
}

void IntGemm::run(const uint8_t* a, int64_t m, uint8_t* c) const {
  qgemm({.m = m, .a = a, .lda = weight.k, .a_zero_point = in_zero_point, .b = &weight,
         .bias = bias.data(), .c_u8 = c, .requant = &requant, .ldc = weight.n});
}

void IntGemm::export_tensors(const std::string& prefix, nn::StateDict& out) const {
  const int stored = storage_bits(weight_bits);
  if (stored == 8) {
    out[prefix + ".weight"] = qweight;
  } else {
    const Tensor w = qweight.contiguous();
    const auto packed = pack_codes(w.data<int8_t>(), w.numel(), stored);
    out[prefix + ".weight"] = from_vector<uint8_t>(packed, {static_cast<int64_t>(packed.size())});
  }
  out[prefix + ".weight_scale"] = from_vector<float>(weight_scale, {static_cast<int64_t>(weight_scale.size())});
  const auto n = static_cast<int64_t>(bias.size());
  out[prefix + ".bias"] = from_vector<int32_t>(bias, {n});
  out[prefix + ".zero_points"] =
      from_vector<int32_t>({in_zero_point, requant.out_zero_point, requant.qmin, requant.qmax}, {4});
  out[prefix + ".scales"] = from_vector<float>({in_scale, out_scale}, {2});
}

namespace {
std::string gemm_options(const IntGemm& g) {
  return cat("weight_bits=", g.weight_bits, ", granularity=", g.per_channel ? "channel" : "tensor",
             ", relu=", g.relu ? 1 : 0);
}
}  // namespace

std::string QuantizedLinear::describe() const {
  return cat(name(), "(in=", gemm_.weight.k, ", out=", gemm_.weight.n, ", ", gemm_options(gemm_), ")");
}

Tensor QuantizedLinear::run(const Tensor& q) const {
  check(q.dim() == 2 && q.size(1) == gemm_.weight.k && q.dtype() == DType::UInt8, "QuantizedLinear",
        "expects uint8 [N, ", gemm_.weight.k, "], got ", shape_str(q.shape()));
  const Tensor a = q.contiguous();
  Tensor out = empty({q.size(0), gemm_.weight.n}, DType::UInt8);
  gemm_.run(a.data<uint8_t>(), q.size(0), out.data<uint8_t>());
  return out;
}

QuantizedConv2d::QuantizedConv2d(const Tensor& weight, const Tensor& bias, const QParams& w_qp,
                                 const QParams& in_qp, const QParams& out_qp, bool relu, int64_t stride,
                                 int64_t padding)
    : gemm_(weight, bias, w_qp, in_qp, out_qp, relu), out_channels_(weight.size(0)),
      in_channels_(weight.size(1)), kernel_(weight.size(2)), stride_(stride), padding_(padding) {
  check(weight.dim() == 4 && weight.size(2) == weight.size(3), "QuantizedConv2d",
        "expects a square kernel [O, C, k, k], got ", shape_str(weight.shape()));
}

QuantizedConv2d::QuantizedConv2d(const IntGemmParams& p, int64_t in_channels, int64_t kernel, int64_t stride,
                                 int64_t padding)
    : gemm_(p), out_channels_(p.qweight.size(0)), in_channels_(in_channels), kernel_(kernel), stride_(stride),
      padding_(padding) {
  check(p.qweight.size(1) == in_channels * kernel * kernel, "QuantizedConv2d", "weight ",
        shape_str(p.qweight.shape()), " does not hold ", in_channels, " x ", kernel, " x ", kernel, " per output channel");
}

std::string QuantizedConv2d::describe() const {
  return cat(name(), "(in=", in_channels_, ", out=", out_channels_, ", kernel=", kernel_, ", stride=", stride_,
             ", padding=", padding_, ", ", gemm_options(gemm_), ")");
}

Tensor QuantizedConv2d::run(const Tensor& q) const {
  check(q.dim() == 4 && q.size(1) == in_channels_ && q.dtype() == DType::UInt8, "QuantizedConv2d",
        "expects uint8 [N, ", in_channels_, ", H, W], got ", shape_str(q.shape()));
  const Tensor x = q.contiguous();
  const Im2colShape s{.channels = in_channels_, .height = q.size(2), .width = q.size(3),
                      .kernel_h = kernel_, .kernel_w = kernel_, .stride_h = stride_, .stride_w = stride_,
                      .pad_h = padding_, .pad_w = padding_};
  const int64_t n = q.size(0), rows = s.rows(), cols = s.cols(), image = s.channels * s.height * s.width;
  // Images are independent: im2col and the NHWC -> NCHW transpose run one image per thread.
  std::vector<uint8_t> a(static_cast<size_t>(n * rows * cols));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    im2col_u8(x.data<uint8_t>() + i * image, s, static_cast<uint8_t>(gemm_.in_zero_point),
              a.data() + i * rows * cols);
  std::vector<uint8_t> c(static_cast<size_t>(n * rows * out_channels_));
  gemm_.run(a.data(), n * rows, c.data());
  // [N, Ho Wo, O] -> [N, O, Ho, Wo]
  Tensor out = empty({n, out_channels_, s.out_h(), s.out_w()}, DType::UInt8);
  uint8_t* o = out.data<uint8_t>();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t ch = 0; ch < out_channels_; ++ch)
        o[(i * out_channels_ + ch) * rows + r] = c[static_cast<size_t>((i * rows + r) * out_channels_ + ch)];
  return out;
}

namespace {
// The pooling windows of an NCHW uint8 tensor: each() sets every output to
// f(first, rows, cols, row_stride), the window's in-bounds part (padded positions are left out).
// No allocation per window, and the N*C planes are independent, so they run in parallel.
struct Windows {
  int64_t n, c, h, w, kernel, stride, padding, oh, ow;
  Windows(const Tensor& q, const Pool2dOptions& o)
      : n(q.size(0)), c(q.size(1)), h(q.size(2)), w(q.size(3)), kernel(o.kernel),
        stride(o.stride > 0 ? o.stride : o.kernel), padding(o.padding),
        oh((h + 2 * padding - kernel) / stride + 1), ow((w + 2 * padding - kernel) / stride + 1) {
    check(oh >= 1 && ow >= 1, "int pool", "window ", kernel, " does not fit input ", shape_str(q.shape()));
  }
  template <class F>
  void each(const uint8_t* x, uint8_t* y, F f) const {
#pragma omp parallel for schedule(static)
    for (int64_t plane = 0; plane < n * c; ++plane) {
      const uint8_t* in = x + plane * h * w;
      uint8_t* out = y + plane * oh * ow;
      for (int64_t oy = 0; oy < oh; ++oy) {
        const int64_t y0 = std::max<int64_t>(0, oy * stride - padding);
        const int64_t y1 = std::min<int64_t>(h, oy * stride - padding + kernel);
        for (int64_t ox = 0; ox < ow; ++ox) {
          const int64_t x0 = std::max<int64_t>(0, ox * stride - padding);
          const int64_t x1 = std::min<int64_t>(w, ox * stride - padding + kernel);
          out[oy * ow + ox] = f(in + y0 * w + x0, y1 - y0, x1 - x0, w);
        }
      }
    }
  }
};
}  // namespace

std::string IntMaxPool2d::describe() const {
  return cat(name(), "(kernel=", options_.kernel, ", stride=", options_.stride, ", padding=", options_.padding, ")");
}

Tensor IntMaxPool2d::run(const Tensor& q) const {
  check(q.dim() == 4 && q.dtype() == DType::UInt8, "IntMaxPool2d", "expects uint8 [N, C, H, W], got ",
        shape_str(q.shape()));
  const Tensor x = q.contiguous();
  const Windows win(x, options_);
  Tensor out = empty({win.n, win.c, win.oh, win.ow}, DType::UInt8);
  // Every window holds at least one input (padding < kernel), so the maximum is a real value.
  win.each(x.data<uint8_t>(), out.data<uint8_t>(), [](const uint8_t* p, int64_t rows, int64_t cols, int64_t ld) {
    uint8_t m = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j) m = std::max(m, p[r * ld + j]);
    return m;
  });
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

QParams IntAvgPool2d::output_qparams() const { return activation_qparams(out_scale_, out_zp_, qmax_); }

Tensor IntAvgPool2d::run(const Tensor& q) const {
  check(q.dim() == 4 && q.dtype() == DType::UInt8, name().c_str(), "expects uint8 [N, C, H, W], got ",
        shape_str(q.shape()));
  const Tensor x = q.contiguous();
  const Pool2dOptions o = global_ ? Pool2dOptions{.kernel = q.size(2), .stride = 1} : options_;
  check(!global_ || q.size(2) == q.size(3), name().c_str(), "expects a square input, got ", shape_str(q.shape()));
  const Windows win(x, o);
  const FixedMultiplier m(in_over_out_ / static_cast<double>(o.kernel * o.kernel));
  Tensor out = empty({win.n, win.c, win.oh, win.ow}, DType::UInt8);
  win.each(x.data<uint8_t>(), out.data<uint8_t>(), [&](const uint8_t* p, int64_t rows, int64_t cols, int64_t ld) {
    int32_t acc = 0;  // padded positions are real 0, i.e. q - zp = 0
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j) acc += static_cast<int32_t>(p[r * ld + j]) - in_zp_;
    return requantize(acc, m.m0, m.shift, out_zp_, 0, qmax_);
  });
  return global_ ? out.reshape({win.n, win.c}) : out;
}

std::string IntReLU::describe() const { return cat(name(), "(zero_point=", zero_point_, ")"); }

Tensor IntReLU::run(const Tensor& q) const {
  Tensor out = q.contiguous().clone();
  uint8_t* p = out.data<uint8_t>();
  for (int64_t i = 0; i < out.numel(); ++i) p[i] = std::max<int32_t>(p[i], zero_point_);
  return out;
}

}  // namespace qgrad::quant
