"""Instructors' solutions for 01_tensors_autograd.ipynb, and wrong answers the checks must reject."""
import numpy as np


def finite_difference_gradient(f, x, eps=1e-6):
    g = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + eps
        up = f(x)
        x[idx] = old - eps
        down = f(x)
        x[idx] = old
        g[idx] = (up - down) / (2 * eps)
    return g


def sgd_step(p, g, buf, lr, momentum):
    buf = g.copy() if buf is None else momentum * buf + g
    return p - lr * buf, buf


def _forward_difference(f, x, eps=1e-6):
    g = np.zeros_like(x, dtype=np.float64)
    f0 = f(x)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + eps
        g[idx] = (f(x) - f0) / eps
        x[idx] = old
    return g


def _not_restored(f, x, eps=1e-6):
    g = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(*x.shape):
        x[idx] += eps
        up = f(x)
        x[idx] -= 2 * eps
        g[idx] = (up - f(x)) / (2 * eps)
    return g


def _half_step(f, x, eps=1e-6):
    return finite_difference_gradient(f, x, eps) * 2


def _plain_sgd(p, g, buf, lr, momentum):
    return p - lr * g, buf


def _ema_momentum(p, g, buf, lr, momentum):
    buf = g.copy() if buf is None else momentum * buf + (1 - momentum) * g
    return p - lr * buf, buf


WRONG = {
    "finite_difference_gradient": [_forward_difference, _not_restored, _half_step],
    "sgd_step": [_plain_sgd, _ema_momentum],
}
