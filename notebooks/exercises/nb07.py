"""Checks for 07_dynamic_quantization.ipynb."""
import numpy as np

from . import RIGHT, WRONG, run_answer, verdict


def _cases():
    rng = np.random.default_rng(7)
    return [rng.normal(0.3, 1.2, size=(4, 50)).astype(np.float32),     # both signs
            rng.uniform(0.5, 3.0, size=(2, 30)).astype(np.float32),     # all positive (post-ReLU-like)
            rng.uniform(-4.0, -0.25, size=(3, 20)).astype(np.float32),  # all negative
            (rng.standard_t(3, size=(8, 64)) * 0.1).astype(np.float32)]  # heavy tails


def check_dynamic_qparams(fn):
    import qgrad
    for x in _cases():
        got, failed = run_answer(fn, x.copy())
        if failed:
            return failed
        try:
            scale, zp = float(got[0]), int(got[1])
        except (TypeError, ValueError, IndexError):
            return verdict(WRONG, f"return a pair (scale, zero_point); got {got!r}")
        qp = qgrad.quant.DynamicQuantLinear.input_qparams(x)
        if not np.isclose(scale, qp.scale[0], rtol=1e-5, atol=0):
            return verdict(WRONG, f"for a batch with min {x.min():.3f} and max {x.max():.3f} the scale "
                                  f"should be {qp.scale[0]:.6g}, you have {scale:.6g}")
        if zp != qp.zero_point[0]:
            return verdict(WRONG, f"for a batch with min {x.min():.3f} and max {x.max():.3f} the zero point "
                                  f"is off: you have {zp}")
    return verdict(RIGHT, "your per-batch qparams equal DynamicQuantLinear.input_qparams on 4 batches")
