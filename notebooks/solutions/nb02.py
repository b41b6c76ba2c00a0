"""Instructors' solutions for 02_linear_quantization.ipynb, and wrong answers the checks must reject."""
import numpy as np


def quantize(x, scale, zero_point, bits):
    v = np.asarray(x, dtype=np.float32) / np.float32(scale)          # float32, as qgrad divides
    r = np.sign(v) * np.floor(np.abs(v).astype(np.float64) + 0.5)      # halves away from zero
    return np.clip(r + zero_point, 0, 2 ** bits - 1).astype(np.int64)


def dequantize(q, scale, zero_point):
    return scale * (np.asarray(q, dtype=np.float64) - zero_point)


def _round_half_even(x, scale, zero_point, bits):
    return np.clip(np.round(np.asarray(x, np.float32) / np.float32(scale)) + zero_point, 0, 2 ** bits - 1)


def _round_half_up(x, scale, zero_point, bits):
    return np.clip(np.floor(np.asarray(x, np.float32) / np.float32(scale) + 0.5) + zero_point, 0, 2 ** bits - 1)


def _no_clamp(x, scale, zero_point, bits):
    v = np.asarray(x, dtype=np.float32) / np.float32(scale)
    return np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point


def _add_zero_point(q, scale, zero_point):
    return scale * (np.asarray(q, dtype=np.float64) + zero_point)


def _forget_zero_point(q, scale, zero_point):
    return scale * np.asarray(q, dtype=np.float64)


WRONG = {
    "quantize": [_round_half_even, _round_half_up, _no_clamp],
    "dequantize": [_add_zero_point, _forget_zero_point],
}
