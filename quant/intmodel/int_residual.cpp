#include "quant/intmodel/int_residual.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "quant/kernels/requantize.h"

namespace qgrad::quant {

IntAdd::IntAdd(float a_scale, int32_t a_zero_point, float b_scale, int32_t b_zero_point, float out_scale,
               int32_t out_zero_point, int32_t qmin, int32_t qmax)
    : a_scale(a_scale), b_scale(b_scale), out_scale(out_scale), a_zero_point(a_zero_point),
      b_zero_point(b_zero_point), out_zero_point(out_zero_point), qmin(qmin), qmax(qmax) {
  check(a_scale > 0 && b_scale > 0 && out_scale > 0 && std::isfinite(a_scale) && std::isfinite(b_scale) &&
            std::isfinite(out_scale),
        "IntAdd", "scales must be positive and finite, got ", a_scale, ", ", b_scale, ", ", out_scale);
  check(qmin >= 0 && qmin <= qmax && qmax <= 255 && a_zero_point >= 0 && a_zero_point <= 255 &&
            b_zero_point >= 0 && b_zero_point <= 255 && out_zero_point >= qmin && out_zero_point <= qmax,
        "IntAdd", "zero points ", a_zero_point, ", ", b_zero_point, ", ", out_zero_point, " or range [", qmin, ", ",
        qmax, "] out of bounds");
  // The same double arithmetic on the same float32 scales wherever an IntAdd is built (convert,
  // load_int_model), so the multipliers come out bit for bit the same.
  const double ma = static_cast<double>(a_scale) / out_scale, mb = static_cast<double>(b_scale) / out_scale;
  int32_t m0 = 0;
  int shift = 0;
  quantize_multiplier(std::max(ma, mb), &m0, &shift);  // throws when the ratio is out of range
  t = 31 + shift;
  // The larger multiplier is m0 itself; the smaller one, at the same exponent, is <= m0 (rounding
  // is monotone) and may be 0 when it is below 2^-(t+1): that branch then cannot move a result.
  const auto at_t = [&](double m) { return static_cast<int64_t>(std::llround(std::ldexp(m, t))); };
  m_a = ma >= mb ? m0 : std::min<int64_t>(at_t(ma), m0);
  m_b = mb > ma ? m0 : std::min<int64_t>(at_t(mb), m0);
  if (m0 == 0) m_a = m_b = 0;  // both below 2^-32: every sum rounds to 0
  const int64_t half = int64_t{1} << (t - 1);
  for (int32_t q = 0; q < 256; ++q) {
    term_a_[static_cast<size_t>(q)] = m_a * (q - a_zero_point) + half;
    term_b_[static_cast<size_t>(q)] = m_b * (q - b_zero_point);
  }
}

void IntAdd::run(const uint8_t* a, const uint8_t* b, uint8_t* out, int64_t n) const {
  parallel_for(n, 65536, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = (*this)(a[i], b[i]);
  });
}

namespace {
void require_activation(const QParams& qp, const char* what) {
  check(!qp.is_signed && !qp.per_channel(), "convert", "residual ", what,
        " activations must be per-tensor unsigned (asymmetric)");
}

IntAdd make_add(const QParams& a, const QParams& b, const QParams& out, bool relu) {
  require_activation(a, "body output");
  require_activation(b, "shortcut output");
  require_activation(out, "sum");
  const int32_t zo = out.zero_point[0];
  return IntAdd(a.scale[0], a.zero_point[0], b.scale[0], b.zero_point[0], out.scale[0], zo, relu ? zo : out.qmin(),
                out.qmax());
}
}  // namespace

IntResidual::IntResidual(IntLayers body, IntLayers shortcut, const QParams& body_qp, const QParams& shortcut_qp,
                         const QParams& out_qp, bool relu)
    : body_(std::move(body)), shortcut_(std::move(shortcut)), add_(make_add(body_qp, shortcut_qp, out_qp, relu)),
      relu_(relu) {}

IntResidual::IntResidual(IntLayers body, IntLayers shortcut, const IntAdd& add, bool relu)
    : body_(std::move(body)), shortcut_(std::move(shortcut)), add_(add), relu_(relu) {}

std::string IntResidual::describe() const {
  return cat(name(), "(body=", body_.size(), ", shortcut=", shortcut_.size(), ", relu=", relu_ ? 1 : 0, ")");
}

std::optional<QParams> IntResidual::output_qparams() const {
  return activation_qparams(add_.out_scale, add_.out_zero_point, add_.qmax);
}

void IntResidual::export_tensors(const std::string& prefix, nn::StateDict& out) const {
  out[prefix + ".zero_points"] = from_vector<int32_t>(
      {add_.a_zero_point, add_.b_zero_point, add_.out_zero_point, add_.qmin, add_.qmax}, {5});
  out[prefix + ".scales"] = from_vector<float>({add_.a_scale, add_.b_scale, add_.out_scale}, {3});
  for (size_t j = 0; j < body_.size(); ++j) body_[j]->export_tensors(cat(prefix, ".body.", j), out);
  for (size_t j = 0; j < shortcut_.size(); ++j) shortcut_[j]->export_tensors(cat(prefix, ".shortcut.", j), out);
}

Tensor IntResidual::run(const Tensor& q) const { return run_with(q, &IntLayer::run); }

Tensor IntResidual::run_cuda(const Tensor& q) const { return run_with(q, &IntLayer::run_cuda); }

Tensor IntResidual::run_with(const Tensor& q, Tensor (IntLayer::*step)(const Tensor&) const) const {
  check(q.dtype() == DType::UInt8, "IntResidual", "expects uint8 input, got ", dtype_name(q.dtype()));
  Tensor a = q, b = q;
  for (const auto& l : body_) a = ((*l).*step)(a);
  for (const auto& l : shortcut_) b = ((*l).*step)(b);
  check(a.shape() == b.shape(), "IntResidual", "body output ", shape_str(a.shape()), " and shortcut output ",
        shape_str(b.shape()), " differ");
  a = a.contiguous();
  b = b.contiguous();
  Tensor out = empty(a.shape(), DType::UInt8);
  add_.run(a.data<uint8_t>(), b.data<uint8_t>(), out.data<uint8_t>(), a.numel());
  return out;
}

}  // namespace qgrad::quant
