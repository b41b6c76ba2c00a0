"""Checks for 06_ptq_integer_only.ipynb."""

import qgrad

from . import RIGHT, WRONG, run_answer, verdict


def _reference(real):
    """qgrad's own split (quant/kernels/requantize.h): real = m0 * 2^-(31 + shift)."""
    return tuple(qgrad.kernels.quantize_multiplier(real))


CASES = [0.5, 0.75, 0.0123, 1e-3, 2.0 ** -20, 0.3333333333333333, 1.0, 3.7, 100.25,
         1.0 - 2.0 ** -40, 0.5 - 2.0 ** -45, 1e-11, 0.000212345, 0.0625, 0.9]


def check_quantize_multiplier(fn):
    for real in CASES:
        got, failed = run_answer(fn, real)
        if failed:
            return failed
        try:
            m0, shift = (int(v) for v in got)
        except (TypeError, ValueError):
            return verdict(WRONG, f"return a pair (m0, shift) of integers; got {got!r} for M = {real!r}")
        want = _reference(real)
        if (m0, shift) != want:
            if want == (0, 0):
                return verdict(WRONG, f"M = {real!r} is below 2^-32: qgrad returns (0, 0) for it")
            approx = m0 * 2.0 ** -(31 + shift) if m0 else 0.0
            hint = ("m0 must lie in [2^30, 2^31)" if not (2 ** 30 <= m0 < 2 ** 31)
                    else "m0 * 2^-(31 + shift) should be M" if abs(approx - real) > real * 2 ** -29
                    else "close, but the rounding of the mantissa differs")
            return verdict(WRONG, f"for M = {real!r} you return {(m0, shift)}: {hint}")
    return verdict(RIGHT, f"all {len(CASES)} multipliers split exactly as qgrad's quantize_multiplier does")
