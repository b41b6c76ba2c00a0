"""Instructors' solutions for 06_ptq_integer_only.ipynb."""
import math


def quantize_multiplier(M):
    if M < 2.0 ** -32:
        return 0, 0
    f, e = math.frexp(M)
    m0 = math.floor(f * 2 ** 31 + 0.5)
    if m0 == 2 ** 31:
        m0, e = 2 ** 30, e + 1
    return m0, -e


def _truncating(M):  # floor instead of round to nearest
    f, e = math.frexp(M)
    return math.floor(f * 2 ** 31), -e


def _no_renormalize(M):  # forgets that f * 2^31 can round up to 2^31
    if M < 2.0 ** -32:
        return 0, 0
    f, e = math.frexp(M)
    return math.floor(f * 2 ** 31 + 0.5), -e


def _shift_sign(M):  # real = m0 * 2^(31 + shift): the shift's sign flipped
    m0, shift = quantize_multiplier(M)
    return m0, -shift


WRONG = {"quantize_multiplier": [_truncating, _no_renormalize, _shift_sign]}
