"""Checks for 03_calibration_sampling.ipynb (see exercises/__init__.py for the convention)."""
import numpy as np

from . import RIGHT, WRONG, run_answer, verdict

_UNIFORM_CASES = [(4, 100), (7, 100), (3, 10), (10, 10), (1, 60000), (64, 60000), (5, 1003)]


def check_uniform_indices(fn):
    """fn(count, size) -> the indices qgrad's 'uniform' sampling picks (count of them from size samples)."""
    import qgrad.quant as quant

    for count, size in _UNIFORM_CASES:
        expect = quant.calibration_indices(quant.Sampling("uniform", count=count), size)
        got, failed = run_answer(fn, count, size)
        if failed:
            return failed
        got = [int(i) for i in np.asarray(got).ravel()]
        if got != list(expect):
            return verdict(WRONG, f"count={count}, size={size}: you pick {got[:8]}{'...' if len(got) > 8 else ''} "
                                  f"({len(got)} indices), qgrad picks {list(expect)[:8]}{'...' if len(expect) > 8 else ''} "
                                  f"({len(expect)}); remember the stride is a whole number")
    return verdict(RIGHT, "the same indices as calibration_indices(Sampling('uniform', count), size)")


def check_percentile_clip_range(fn):
    """fn(values, p) -> (lo, hi): the clip range PercentileObserver(QScheme(bits), p) keeps (asymmetric)."""
    import qgrad.quant as quant

    rng = np.random.default_rng(3)
    for p in (99.0, 99.9, 99.99):
        v = np.concatenate([rng.normal(0, 1, 5000), rng.exponential(3, 500)]).astype(np.float32)
        lo_e, hi_e = quant.percentile(v, 100 - p), quant.percentile(v, p)
        got, failed = run_answer(fn, v.copy(), p)
        if failed:
            return failed
        try:
            lo, hi = (float(t) for t in got)
        except (TypeError, ValueError):
            return verdict(WRONG, "return a pair (lo, hi)")
        if abs(lo - lo_e) > 1e-4 * (1 + abs(lo_e)) or abs(hi - hi_e) > 1e-4 * (1 + abs(hi_e)):
            return verdict(WRONG, f"p = {p}: you keep [{lo:.4f}, {hi:.4f}], the observer keeps [{lo_e:.4f}, {hi_e:.4f}]")
        obs = quant.PercentileObserver(quant.QScheme(bits=8), percentile=p)
        obs.observe(v)
        if obs.qparams() != quant.qparams_from_range(lo, hi, quant.QScheme(bits=8)):
            return verdict(WRONG, f"p = {p}: your range does not give the observer's qparams")
    return verdict(RIGHT, "the same clip range as qgrad's PercentileObserver")
