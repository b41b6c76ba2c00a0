"""Checks for 01_tensors_autograd.ipynb (see exercises/__init__.py for the convention)."""
import numpy as np

from . import RIGHT, WRONG, run_answer, verdict


def _f(x):
    """A smooth test function with curvature everywhere: sum(sin(3x) * x^2) + (sum x)^2."""
    return float(np.sum(np.sin(3 * x) * x ** 2) + np.sum(x) ** 2)


def _df(x):
    return 3 * np.cos(3 * x) * x ** 2 + 2 * x * np.sin(3 * x) + 2 * np.sum(x)


def check_finite_difference_gradient(fn):
    """fn(f, x, eps) -> the central-difference gradient of the scalar f at the float64 array x."""
    rng = np.random.default_rng(0)
    for shape in [(5,), (3, 4)]:
        x = rng.normal(0, 1, size=shape)
        x_before = x.copy()
        g, failed = run_answer(fn, _f, x, 1e-5)
        if failed:
            return failed
        g = np.asarray(g, dtype=np.float64)
        if g.shape != x.shape:
            return verdict(WRONG, f"for x of shape {x.shape} the gradient has shape {g.shape}")
        if not np.array_equal(x, x_before):
            return verdict(WRONG, "your function changed x: put every entry back after nudging it")
        err = np.max(np.abs(g - _df(x)))
        if err > 1e-7:
            return verdict(WRONG, f"off by up to {err:.2e} from the exact gradient (a central difference "
                                  "(f(x+eps) - f(x-eps)) / (2 eps) is accurate to about 1e-9 here)")
    return verdict(RIGHT, "central differences agree with the exact gradient to better than 1e-7")


def check_sgd_step(fn):
    """fn(p, g, buf, lr, momentum) -> (new p, new buf), one update of qgrad.optim.SGD with momentum
    (buf is None before the first step)."""
    import qgrad

    rng = np.random.default_rng(1)
    p0 = rng.normal(size=(3, 2)).astype(np.float32)
    grads = [rng.normal(size=(3, 2)).astype(np.float32) for _ in range(3)]
    lr, momentum = 0.1, 0.9
    p = qgrad.tensor(p0.copy()).requires_grad_()
    opt = qgrad.optim.SGD([p], lr=lr, momentum=momentum)
    mine, buf = p0.astype(np.float64), None
    for step, g in enumerate(grads, start=1):
        p.grad = qgrad.tensor(g)
        opt.step()
        out, failed = run_answer(fn, mine, g.astype(np.float64), buf, lr, momentum)
        if failed:
            return failed
        try:
            mine, buf = out
        except (TypeError, ValueError):
            return verdict(WRONG, "return a pair (new_p, new_buf)")
        mine = np.asarray(mine, dtype=np.float64)
        if mine.shape != p0.shape:
            return verdict(WRONG, f"the new parameter has shape {mine.shape}, expected {p0.shape}")
        err = np.max(np.abs(mine - p.numpy()))
        if err > 1e-5:
            return verdict(WRONG, f"after step {step} your parameter differs from qgrad.optim.SGD's by {err:.2e}")
    return verdict(RIGHT, "three steps match qgrad.optim.SGD(lr=0.1, momentum=0.9)")
