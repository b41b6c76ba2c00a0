#include "quant/math/qparams.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qgrad::quant {

void check_bits(int bits, const char* op) {
  check(bits >= 2 && bits <= 8, op, "bits must be in 2..8, got ", bits);
}

void QParams::validate(const char* op) const {
  check_bits(bits, op);
  check(!scale.empty(), op, "QParams has no scale");
  check(scale.size() == zero_point.size(), op, "QParams has ", scale.size(), " scales but ",
        zero_point.size(), " zero points");
  check(per_channel() || scale.size() == 1, op, "per-tensor QParams must have one scale, got ",
        scale.size());
  for (size_t c = 0; c < scale.size(); ++c) {
    check(std::isfinite(scale[c]) && scale[c] > 0.f, op, "scale[", c, "] = ", scale[c],
          " is not a positive finite number");
    check(zero_point[c] >= qmin() && zero_point[c] <= qmax(), op, "zero_point[", c, "] = ",
          zero_point[c], " lies outside [", qmin(), ", ", qmax(), "] for ", bits, "-bit ",
          is_signed ? "signed" : "unsigned", " data");
  }
}

int64_t QParams::validate_for(const Shape& shape, const char* op) const {
  validate(op);
  if (!per_channel()) return 0;
  const int64_t ax = normalize_axis(*axis, static_cast<int64_t>(shape.size()), op);
  check(shape[ax] == channels(), op, "per-channel QParams have ", channels(),
        " channels but axis ", *axis, " of shape ", shape_str(shape), " has ", shape[ax]);
  return ax;
}

namespace {

// The scale for a range of this width spread over `steps` integer steps (see qparams.h for
// why a zero width gives 1.0 and tiny widths are floored).
float scale_for(double width, int32_t steps) {
  if (width == 0.0) return 1.f;
  return std::max(static_cast<float>(width / steps), std::numeric_limits<float>::min());
}

void fill_channel(QParams& qp, size_t c, float min, float max, const char* op) {
  check(std::isfinite(min) && std::isfinite(max), op, "range [", min, ", ", max, "] is not finite");
  check(min <= max, op, "range minimum ", min, " is above its maximum ", max);
  if (qp.is_signed) {
    const double amax = std::max(std::abs(double(min)), std::abs(double(max)));
    qp.scale[c] = scale_for(amax, qp.qmax());
    qp.zero_point[c] = 0;
    return;
  }
  const double lo = std::min(double(min), 0.0), hi = std::max(double(max), 0.0);
  qp.scale[c] = scale_for(hi - lo, qp.qmax() - qp.qmin());
  const double zp = qp.qmin() + std::round(-lo / qp.scale[c]);
  qp.zero_point[c] = static_cast<int32_t>(std::clamp<double>(zp, qp.qmin(), qp.qmax()));
}

}  // namespace

QParams qparams_from_range(const std::vector<float>& min, const std::vector<float>& max,
                           const QScheme& scheme) {
  const char* op = "qparams_from_range";
  check_bits(scheme.bits, op);
  check(min.size() == max.size(), op, "got ", min.size(), " minimums but ", max.size(), " maximums");
  check(!min.empty(), op, "got an empty range list");
  check(scheme.axis.has_value() || min.size() == 1, op, "a per-tensor scheme takes one range, got ",
        min.size(), " (set QScheme::axis for per-channel)");
  QParams qp;
  qp.bits = scheme.bits;
  qp.is_signed = scheme.symmetric;
  qp.axis = scheme.axis;
  qp.scale.resize(min.size());
  qp.zero_point.resize(min.size());
  for (size_t c = 0; c < min.size(); ++c) fill_channel(qp, c, min[c], max[c], op);
  return qp;
}

QParams qparams_from_range(float min, float max, const QScheme& scheme) {
  check(!scheme.axis.has_value(), "qparams_from_range", "one range given for a per-channel scheme (axis ",
        scheme.axis.value_or(0), "); pass one range per channel");
  return qparams_from_range(std::vector<float>{min}, std::vector<float>{max}, scheme);
}

int bits_of_qmax(int64_t qmax) {
  for (int b = 2; b <= 8; ++b)
    if (qmax == (int64_t{1} << b) - 1) return b;
  return 0;
}

QParams activation_qparams(float scale, int32_t zero_point, int32_t qmax) {
  QParams q;
  q.scale = {scale};
  q.zero_point = {zero_point};
  q.bits = bits_of_qmax(qmax);
  check(q.bits > 0, "activation_qparams", "qmax ", qmax, " is not 2^bits - 1 for bits in 2..8");
  return q;
}

}  // namespace qgrad::quant
