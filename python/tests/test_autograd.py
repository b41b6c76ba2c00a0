"""Autograd from Python: gradients of composite expressions against central finite differences
of the same expression computed in float64 NumPy, no_grad, accumulation, and the errors."""
import numpy as np
import pytest

import qgrad

rng = np.random.default_rng(1)


def numeric_grad(f, x, eps=1e-6):
    """d f(x) / dx by central differences, f: float64 array -> float."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        hi = f(x)
        x[i] = old - eps
        lo = f(x)
        x[i] = old
        g[i] = (hi - lo) / (2 * eps)
    return g


def check(q_fn, np_fn, *shapes, positive=False, atol=2e-3):
    """q_fn(*tensors) -> scalar Tensor and np_fn(*arrays) -> float compute the same function."""
    xs = [rng.standard_normal(s) for s in shapes]
    if positive:
        xs = [np.abs(x) + 0.5 for x in xs]
    ts = [qgrad.tensor(x.astype(np.float32)).requires_grad_() for x in xs]
    out = q_fn(*ts)
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), np_fn(*xs), rtol=1e-4, atol=1e-4)
    out.backward()
    for k, (x, t) in enumerate(zip(xs, ts)):
        def f(v, k=k):
            args = list(xs)
            args[k] = v
            return np_fn(*args)
        np.testing.assert_allclose(t.grad.numpy(), numeric_grad(f, x.copy()), rtol=1e-3, atol=atol)


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def test_elementwise_broadcasting():
    check(lambda a, b: (a * b + a / (b * b + 1)).sum(),
          lambda a, b: (a * b + a / (b * b + 1)).sum(), (3, 4), (4,))


def test_matmul_and_activations():
    check(lambda a, b: (qgrad.tanh(a @ b) * qgrad.sigmoid(a @ b)).mean(),
          lambda a, b: (np.tanh(a @ b) / (1 + np.exp(-(a @ b)))).mean(), (3, 5), (5, 2))


def test_exp_log_sqrt_pow():
    check(lambda a: (qgrad.log(a) + qgrad.sqrt(a) + a ** 3 + qgrad.exp(-a)).sum(),
          lambda a: (np.log(a) + np.sqrt(a) + a ** 3 + np.exp(-a)).sum(), (6,), positive=True)


def test_views_and_indexing():
    check(lambda a: (a[1:, ::2].transpose(0, 1).reshape(-1) * qgrad.arange(0, 6)).sum(),
          lambda a: (a[1:, ::2].T.reshape(-1) * np.arange(6)).sum(), (3, 6))


def test_reductions_softmax_cross_entropy():
    targets = np.array([2, 0, 1], dtype=np.int32)

    def np_ce(x):
        return -np.log(np_softmax(x, 1)[np.arange(3), targets]).mean()

    check(lambda x: qgrad.cross_entropy(x, qgrad.tensor(targets)), np_ce, (3, 4))
    check(lambda x: (x.softmax(0) * x.max(1, keepdim=True)).var(),
          lambda x: (np_softmax(x, 0) * x.max(1, keepdims=True)).var(ddof=1), (3, 4))


def test_conv2d_and_pools():
    def np_conv(x, w):  # stride 1, padding 1
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        out = np.zeros((n, o, h, wd))
        for i in range(h):
            for j in range(wd):
                out[:, :, i, j] = np.einsum("nckl,ockl->no", xp[:, :, i:i + kh, j:j + kw], w)
        return out

    def np_pool(y):
        n, c, h, w = y.shape
        return y.reshape(n, c, h // 2, 2, w // 2, 2).max((3, 5))

    check(lambda x, w: qgrad.max_pool2d(qgrad.conv2d(x, w, padding=1), 2).sum() +
          (qgrad.avg_pool2d(x, 2) ** 2).sum(),
          lambda x, w: np_pool(np_conv(x, w)).sum() +
          (x.reshape(1, 2, 2, 2, 2, 2).mean((3, 5)) ** 2).sum(),
          (1, 2, 4, 4), (3, 2, 3, 3))


def test_gradients_accumulate_and_no_grad():
    x = qgrad.tensor([1.0, 2.0]).requires_grad_()
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])
    x.grad = None
    assert x.grad is None
    with qgrad.no_grad():
        y = x * 2
        assert not qgrad.is_grad_enabled()
    assert qgrad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    z = x * 2
    assert z.requires_grad and z.grad_fn == "mul" and not z.is_leaf


def test_backward_with_explicit_gradient():
    x = qgrad.tensor([[1.0, -2.0], [0.5, 4.0]]).requires_grad_()
    y = x * x
    y.backward(qgrad.tensor([[1.0, 0.0], [2.0, -1.0]]))
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [2.0, -8.0]])


def test_autograd_errors():
    with pytest.raises(qgrad.Error, match="requires_grad_"):
        qgrad.tensor([1, 2]).requires_grad_()  # int32
    x = qgrad.tensor([1.0]).requires_grad_()
    with pytest.raises(qgrad.Error, match="leaf"):
        (x * 2).requires_grad_()
    with pytest.raises(qgrad.Error):
        (x * qgrad.ones([3])).backward()  # not a scalar, no gradient given


def test_python_module_gradients_match_finite_differences():
    class TwoLayer(qgrad.nn.Module):
        def __init__(self):
            super().__init__()
            self.w1 = qgrad.tensor(rng.standard_normal((4, 3)).astype(np.float32)).requires_grad_()
            self.w2 = qgrad.tensor(rng.standard_normal((3, 1)).astype(np.float32)).requires_grad_()

        def forward(self, x):
            return qgrad.tanh(x @ self.w1) @ self.w2

    net = TwoLayer()
    assert [n for n, _ in net.named_parameters()] == ["w1", "w2"]
    x = rng.standard_normal((5, 4))
    loss = (net(qgrad.tensor(x.astype(np.float32))) ** 2).mean()
    loss.backward()
    w1, w2 = net.w1.numpy().astype(np.float64), net.w2.numpy().astype(np.float64)
    numeric = numeric_grad(lambda w: ((np.tanh(x @ w) @ w2) ** 2).mean(), w1.copy())
    np.testing.assert_allclose(net.w1.grad.numpy(), numeric, rtol=1e-3, atol=2e-3)
