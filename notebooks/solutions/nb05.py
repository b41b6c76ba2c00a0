"""Solutions for 05_quantization_aware_training.ipynb."""
import numpy as np


def ste_backward(x, scale, zero_point, qmin, qmax, grad_out):
    code = np.round(np.asarray(x, np.float64) / scale) + zero_point
    inside = (code >= qmin) & (code <= qmax)
    return np.where(inside, grad_out, 0.0).astype(np.float32)


def _pass_everything(x, scale, zero_point, qmin, qmax, grad_out):
    return np.asarray(grad_out, np.float32).copy()


def _clip_on_the_real_range(x, scale, zero_point, qmin, qmax, grad_out):
    # tests x itself against [min, max] = scale * ([qmin, qmax] - zp): forgets the rounding,
    # so values within half a step past an end lose their gradient
    lo, hi = scale * (qmin - zero_point), scale * (qmax - zero_point)
    x = np.asarray(x)
    return np.where((x >= lo) & (x <= hi), grad_out, 0.0).astype(np.float32)


def _mask_only(x, scale, zero_point, qmin, qmax, grad_out):
    code = np.round(np.asarray(x, np.float64) / scale) + zero_point
    return ((code >= qmin) & (code <= qmax)).astype(np.float32)


WRONG = {"ste_backward": [_pass_everything, _clip_on_the_real_range, _mask_only]}
