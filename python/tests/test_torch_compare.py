"""Ops and gradients against PyTorch on random inputs. PyTorch is optional (Debian's
python3-torch): the whole file is skipped when `torch` is not importable."""
import numpy as np
import pytest

import qgrad

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
rng = np.random.default_rng(2)


def pair(shape, positive=False):
    a = rng.standard_normal(shape).astype(np.float32)
    if positive:
        a = np.abs(a) + 0.5
    return qgrad.tensor(a).requires_grad_(), torch.tensor(a, requires_grad=True)


def same(q, t, rtol=1e-5, atol=1e-5):
    np.testing.assert_allclose(q.numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "gelu", "exp", "abs", "neg"])
def test_unary(name):
    q, t = pair((4, 7))
    qy = getattr(qgrad, name)(q)
    ty = getattr(torch, name)(t) if name != "gelu" else torch.nn.functional.gelu(t)
    same(qy, ty)
    w = rng.standard_normal((4, 7)).astype(np.float32)
    (qy * qgrad.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    same(q.grad, t.grad, rtol=1e-4, atol=1e-5)


def test_log_sqrt_pow_div():
    q, t = pair((3, 5), positive=True)
    qy = (qgrad.log(q) + qgrad.sqrt(q) * q ** 2.5 / (q + 1)).sum()
    ty = (torch.log(t) + torch.sqrt(t) * t ** 2.5 / (t + 1)).sum()
    same(qy, ty, rtol=1e-5)
    qy.backward()
    ty.backward()
    same(q.grad, t.grad, rtol=1e-4)


def test_matmul_linear_conv_pool_losses():
    qx, tx = pair((2, 3, 9, 7))
    qw, tw = pair((4, 3, 3, 3))
    qb, tb = pair((4,))
    qy = qgrad.conv2d(qx, qw, qb, stride=2, padding=1)
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=2, padding=1)
    same(qy, ty, rtol=1e-4, atol=1e-4)
    qy = qgrad.max_pool2d(qgrad.relu(qy), 2).flatten(1)
    ty = torch.nn.functional.max_pool2d(torch.relu(ty), 2).flatten(1)
    qlw, tlw = pair((5, qy.shape[1]))
    qlogits = qgrad.linear(qy, qlw)
    tlogits = torch.nn.functional.linear(ty, tlw)
    targets = np.array([1, 4], dtype=np.int32)
    qloss = qgrad.cross_entropy(qlogits, qgrad.tensor(targets))
    tloss = torch.nn.functional.cross_entropy(tlogits, torch.tensor(targets, dtype=torch.long))
    same(qloss, tloss, rtol=1e-4)
    qloss.backward()
    tloss.backward()
    for q, t in [(qx, tx), (qw, tw), (qb, tb), (qlw, tlw)]:
        same(q.grad, t.grad, rtol=1e-3, atol=1e-4)


def test_reductions_and_softmax():
    q, t = pair((3, 4, 5))
    qy = q.softmax(1).var((0, 2)).sum() + q.log_softmax(-1).mean() + q.max(2).sum()
    ty = t.softmax(1).var((0, 2)).sum() + t.log_softmax(-1).mean() + t.amax(2).sum()
    same(qy, ty, rtol=1e-4)
    qy.backward()
    ty.backward()
    same(q.grad, t.grad, rtol=1e-3, atol=1e-5)
