"""Instructors' solutions for 03_calibration_sampling.ipynb, and wrong answers the checks must reject."""
import numpy as np


def uniform_indices(count, size):
    stride = max(1, size // count)
    return [i * stride for i in range(count)]


def percentile_clip_range(values, p):
    v = np.asarray(values, dtype=np.float64)
    return float(np.percentile(v, 100 - p)), float(np.percentile(v, p))


def _linspace(count, size):
    return [int(round(i * size / count)) for i in range(count)]


def _one_too_many(count, size):
    stride = max(1, size // count)
    return list(range(0, size, stride))


def _min_max(values, p):
    return float(np.min(values)), float(np.max(values))


def _same_percentile(values, p):
    return float(np.percentile(values, p)) * -1, float(np.percentile(values, p))


WRONG = {
    "uniform_indices": [_linspace, _one_too_many],
    "percentile_clip_range": [_min_max, _same_percentile],
}
