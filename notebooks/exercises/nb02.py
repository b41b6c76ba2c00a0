"""Checks for 02_linear_quantization.ipynb (see exercises/__init__.py for the convention)."""
import numpy as np

from . import RIGHT, WRONG, run_answer, verdict


def _cases():
    """(x, scale, zero_point, bits): random values (some outside the range, so clamping matters)
    plus exact halves x / scale = k + 0.5 of both signs (scale a power of two: no float error)."""
    import qgrad.quant as quant

    rng = np.random.default_rng(2)
    out = []
    for bits in range(2, 9):
        lo, hi = sorted(rng.uniform(-3, 3, size=2))
        qp = quant.qparams_from_range(float(lo), float(hi), quant.QScheme(bits=bits))
        x = rng.uniform(lo - 1, hi + 1, size=200).astype(np.float32)
        out.append((x, qp.scale[0], qp.zero_point[0], bits))
    ties = (np.arange(-6, 6) + 0.5).astype(np.float32) * np.float32(0.125)
    out.append((ties, 0.125, 8, 5))
    return out


def check_quantize(fn):
    """fn(x, scale, zero_point, bits) -> the uint8-range codes qgrad.quant.quantize gives (asymmetric)."""
    import qgrad.quant as quant

    for x, scale, zp, bits in _cases():
        qp = quant.QParams(scale, zp, bits=bits)
        expect = quant.quantize(x, qp).numpy().astype(np.int64)
        got, failed = run_answer(fn, x.copy(), scale, zp, bits)
        if failed:
            return failed
        got = np.asarray(got)
        if got.shape != x.shape:
            return verdict(WRONG, f"codes have shape {got.shape}, expected {x.shape}")
        bad = np.flatnonzero(got.astype(np.int64) != expect)
        if len(bad):
            i = bad[0]
            hint = ""
            if abs(float(x[i]) / scale - np.round(float(x[i]) / scale)) == 0.5 or \
               abs(abs(float(x[i]) / scale) % 1 - 0.5) < 1e-9:
                hint = " (x / scale is exactly halfway between two integers here: how does qgrad round halves?)"
            elif expect[i] in (0, 2 ** bits - 1):
                hint = " (this value lies outside the range: clamp to [0, 2^bits - 1])"
            return verdict(WRONG, f"{bits} bits, scale {scale:.4g}, zero point {zp}: x = {float(x[i]):.6g} "
                                  f"gives {got.flat[i]}, qgrad gives {expect[i]}{hint}")
    return verdict(RIGHT, "equal to qgrad.quant.quantize at 2..8 bits, clamping and halves included")


def check_dequantize(fn):
    """fn(q, scale, zero_point) -> the real values the codes q stand for."""
    import qgrad.quant as quant

    for x, scale, zp, bits in _cases():
        qp = quant.QParams(scale, zp, bits=bits)
        codes = quant.quantize(x, qp)
        expect = quant.dequantize(codes, qp).numpy().astype(np.float64)
        got, failed = run_answer(fn, codes.numpy().astype(np.int64), scale, zp)
        if failed:
            return failed
        got = np.asarray(got, dtype=np.float64)
        if got.shape != expect.shape:
            return verdict(WRONG, f"result has shape {got.shape}, expected {expect.shape}")
        err = np.max(np.abs(got - expect))
        if err > 1e-5 * max(1.0, np.abs(expect).max()):
            return verdict(WRONG, f"{bits} bits, scale {scale:.4g}, zero point {zp}: off by up to {err:.3g}")
    return verdict(RIGHT, "equal to qgrad.quant.dequantize")
