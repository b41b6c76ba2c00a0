"""Checks for 05_quantization_aware_training.ipynb (see exercises/__init__.py for the convention)."""
import numpy as np

from . import RIGHT, WRONG, run_answer, verdict


def _cases():
    """(x, QParams, upstream gradient): values spread over and past each grid's range, none on an
    exact rounding tie."""
    from qgrad import quant

    rng = np.random.default_rng(5)
    out = []
    for lo, hi, scheme in [(-1.0, 1.0, quant.QScheme(bits=3)),
                           (-0.3, 0.9, quant.QScheme(bits=4)),
                           (-2.0, 2.0, quant.QScheme(bits=4, symmetric=True))]:
        qp = quant.qparams_from_range(lo, hi, scheme)
        s = qp.scale[0]
        edges = np.array([s * (qp.qmin - qp.zero_point[0]), s * (qp.qmax - qp.zero_point[0])])
        # just inside and just outside each end (within half a step), and values spread widely
        near = np.concatenate([edges + 0.3 * s, edges - 0.3 * s, edges + 0.7 * s, edges - 0.7 * s])
        x = np.concatenate([near, rng.uniform(lo - 1.0, hi + 1.0, size=60)]).astype(np.float32)
        g = rng.normal(size=x.shape).astype(np.float32)
        out.append((x, qp, g))
    return out


def check_ste_backward(fn):
    """fn(x, scale, zero_point, qmin, qmax, grad_out) -> dL/dx through fake_quantize (the STE)."""
    import qgrad
    from qgrad import quant

    for x, qp, g in _cases():
        xt = qgrad.tensor(x.copy()).requires_grad_(True)
        (quant.fake_quantize(xt, qp) * qgrad.tensor(g)).sum().backward()
        want = xt.grad.numpy()
        got, failed = run_answer(fn, x.copy(), float(qp.scale[0]), int(qp.zero_point[0]), qp.qmin, qp.qmax, g.copy())
        if failed:
            return failed
        got = np.asarray(got, dtype=np.float32)
        if got.shape != x.shape:
            return verdict(WRONG, f"for x of shape {x.shape} you returned shape {got.shape}")
        bad = ~np.isclose(got, want, rtol=1e-6, atol=1e-7)
        if bad.any():
            i = int(np.argmax(bad))
            code = np.round(x[i] / qp.scale[0]) + qp.zero_point[0]
            where = "inside" if qp.qmin <= code <= qp.qmax else "outside"
            return verdict(WRONG, f"at x = {x[i]:.4f} (code {code:.0f}, {where} [{qp.qmin}, {qp.qmax}]) "
                                  f"you give {got[i]:.4f}, qgrad's fake_quantize passes back {want[i]:.4f}")
    return verdict(RIGHT, "your gradient equals qgrad's straight-through gradient on every grid")
