// quantize_multiplier: the real requantization multiplier as a Q31 mantissa and a shift
// (formula and rounding rule in requantize.h).
#include "quant/kernels/requantize.h"

#include <cmath>

#include "core/error.h"

namespace qgrad::quant {

void quantize_multiplier(double real, int32_t* m0, int* shift) {
  check(std::isfinite(real) && real >= 0, "quantize_multiplier", "multiplier must be finite and >= 0, got ", real);
  check(real < std::ldexp(1.0, 30), "quantize_multiplier", "multiplier ", real, " is >= 2^30");
  if (real < std::ldexp(1.0, -32)) {
    *m0 = 0;
    *shift = 0;
    return;
  }
  int e = 0;
  const double f = std::frexp(real, &e);  // real = f * 2^e, f in [0.5, 1)
  int64_t q = std::llround(f * std::ldexp(1.0, 31));
  if (q == (int64_t{1} << 31)) {  // f rounded up to 1.0
    q /= 2;
    ++e;
  }
  check(-e >= kMinRequantShift, "quantize_multiplier", "multiplier ", real, " rounds up to 2^30");
  *m0 = static_cast<int32_t>(q);
  *shift = -e;  // real = q * 2^-31 * 2^e = q * 2^-(31 + shift)
}

}  // namespace qgrad::quant
