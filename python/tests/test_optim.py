"""qgrad.optim: one update of SGD/Adam/AdamW vs the formulas in nn/optim/*.h (NumPy), the LR
schedules vs their formulas, and the optimizer state_dict round trip."""
import math

import numpy as np
import pytest

import qgrad
from qgrad import optim

RNG = np.random.default_rng(1)


def param_with_grad(p0, g):
    p = qgrad.tensor(p0).requires_grad_()
    p.grad = qgrad.tensor(g)
    return p


def run(opt_factory, steps=3):
    """Runs `steps` updates with fixed, different gradients; returns (qgrad values, p0, grads)."""
    p0 = RNG.standard_normal((4, 3)).astype(np.float32)
    grads = [RNG.standard_normal((4, 3)).astype(np.float32) for _ in range(steps)]
    p = qgrad.tensor(p0).requires_grad_()
    opt = opt_factory([p])
    for g in grads:
        p.grad = qgrad.tensor(g)
        opt.step()
    return p.numpy().copy(), p0.astype(np.float64), [g.astype(np.float64) for g in grads]


@pytest.mark.parametrize("lr,mom,damp,nest,wd", [(0.1, 0, 0, False, 0), (0.05, 0.9, 0, False, 0.01),
                                                 (0.05, 0.9, 0.1, False, 0), (0.05, 0.8, 0, True, 0.1)])
def test_sgd_matches_formula(lr, mom, damp, nest, wd):
    got, p, grads = run(lambda ps: optim.SGD(ps, lr=lr, momentum=mom, dampening=damp, nesterov=nest, weight_decay=wd))
    buf = None
    for g in grads:
        g = g + wd * p
        if mom:
            buf = g.copy() if buf is None else mom * buf + (1 - damp) * g
            g = g + mom * buf if nest else buf
        p = p - lr * g
    np.testing.assert_allclose(got, p, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,wd", [(optim.Adam, 0.0), (optim.Adam, 0.1), (optim.AdamW, 0.01), (optim.AdamW, 0.3)])
def test_adam_adamw_match_formula(cls, wd):
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-6
    got, p, grads = run(lambda ps: cls(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd))
    m = v = 0
    for t, g in enumerate(grads, start=1):
        if cls is optim.AdamW:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - (lr / (1 - b1 ** t)) * m / (np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps)
    np.testing.assert_allclose(got, p, rtol=1e-5, atol=1e-6)


def test_defaults_lr_property_and_bad_input():
    p = qgrad.zeros((2,)).requires_grad_()
    sgd = optim.SGD([p])
    assert abs(sgd.lr - 0.01) < 1e-9 and len(sgd.params) == 1
    sgd.lr = 0.5
    assert sgd.lr == 0.5
    assert abs(optim.Adam([p]).lr - 1e-3) < 1e-9
    # AdamW's default decay is 0.01: with a zero gradient the parameter shrinks by lr * 0.01.
    q = qgrad.tensor(np.full(3, 2.0, np.float32)).requires_grad_()
    q.grad = qgrad.zeros((3,))
    optim.AdamW([q], lr=0.1).step()
    np.testing.assert_allclose(q.numpy(), 2.0 * (1 - 0.1 * 0.01), rtol=1e-6)
    with pytest.raises(TypeError):
        optim.SGD([p, 3.0])
    with pytest.raises(qgrad.Error):
        optim.SGD([p], momentum=-1)
    with pytest.raises(qgrad.Error):
        optim.SGD([p], nesterov=True)


def test_zero_grad_and_skip_without_grad():
    p = qgrad.tensor(np.ones(3, np.float32)).requires_grad_()
    opt = optim.SGD([p], lr=1.0)
    opt.step()  # no gradient: skipped
    np.testing.assert_array_equal(p.numpy(), 1.0)
    (p * p).sum().backward()
    assert p.grad is not None
    opt.step()
    np.testing.assert_allclose(p.numpy(), -1.0)
    opt.zero_grad()
    assert p.grad is None


def test_state_dict_round_trip():
    def make():
        ps = [qgrad.tensor(np.ones((2, 2), np.float32)).requires_grad_(), qgrad.tensor(np.ones(3, np.float32)).requires_grad_()]
        return ps, optim.Adam(ps, lr=0.05)

    ps, opt = make()
    for k in range(3):
        for p in ps:
            p.grad = qgrad.tensor(np.full(p.shape, 0.5 + k, np.float32))
        opt.step()
    opt.lr = 0.02
    sd = {k: v.numpy().copy() for k, v in opt.state_dict().items()}
    assert {"lr", "0.step", "0.exp_avg", "0.exp_avg_sq", "1.step"} <= set(sd)
    assert int(sd["0.step"]) == 3 and np.abs(sd["0.exp_avg"]).max() > 0

    ps2, opt2 = make()
    with qgrad.no_grad():
        for p, q in zip(ps2, ps):
            p.copy_(q)
    opt2.load_state_dict(sd)
    assert abs(opt2.lr - 0.02) < 1e-9
    for p in ps + ps2:
        p.grad = qgrad.tensor(np.full(p.shape, -0.3, np.float32))
    opt.step()
    opt2.step()
    for p, q in zip(ps, ps2):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    with pytest.raises(qgrad.Error):
        opt2.load_state_dict({"lr": sd["lr"]})


def test_schedules_match_formulas():
    s = optim.StepLR(0.1, step_size=3, gamma=0.5)
    for t in range(10):
        assert abs(s.lr_at(t) - 0.1 * 0.5 ** (t // 3)) < 1e-7
    c = optim.CosineAnnealing(0.2, t_max=8, eta_min=0.01)
    for t in range(12):
        ref = 0.01 if t >= 8 else 0.01 + (0.2 - 0.01) * (1 + math.cos(math.pi * t / 8)) / 2
        assert abs(c.lr_at(t) - ref) < 1e-6
    w = optim.LinearWarmup(c, warmup=4, start_factor=0.25)
    for t in range(14):
        ref = c.lr_at(0) * (0.25 + 0.75 * t / 4) if t < 4 else c.lr_at(t - 4)
        assert abs(w.lr_at(t) - ref) < 1e-6


def test_schedule_counter_apply_step():
    p = qgrad.zeros((1,)).requires_grad_()
    opt = optim.SGD([p], lr=1.0)
    s = optim.CosineAnnealing(0.4, t_max=4)
    s.apply(opt)
    assert abs(opt.lr - 0.4) < 1e-7 and s.t == 0
    s.step(opt)
    assert s.t == 1 and abs(opt.lr - s.lr_at(1)) < 1e-7 and opt.lr < 0.4
    s.set_t(3)
    s.apply(opt)
    assert abs(opt.lr - s.lr_at(3)) < 1e-7
    s.t = 4
    assert s.t == 4
    with pytest.raises(qgrad.Error):
        s.lr_at(-1)
