"""qgrad.nn layers vs NumPy references, Module state round trips, and a Python Module that trains."""
import numpy as np
import pytest

import qgrad
from qgrad import nn

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def np_conv2d(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """Naive NCHW cross-correlation, as torch.nn.functional.conv2d."""
    n, cin, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    wo = (wd + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, cout, ho, wo), np.float64)
    per_group = cout // groups
    for o in range(cout):
        g = o // per_group
        for i in range(ho):
            for j in range(wo):
                patch = x[:, g * cin_g:(g + 1) * cin_g,
                          i * stride:i * stride + dilation * (kh - 1) + 1:dilation,
                          j * stride:j * stride + dilation * (kw - 1) + 1:dilation]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
        if b is not None:
            out[:, o] += b[o]
    return out


def np_pool(x, k, s, p, op):
    fill = -np.inf if op == "max" else 0.0
    x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.zeros((n, c, ho, wo), np.float64)
    for i in range(ho):
        for j in range(wo):
            win = x[:, :, i * s:i * s + k, j * s:j * s + k]
            out[:, :, i, j] = win.max(axis=(2, 3)) if op == "max" else win.mean(axis=(2, 3))
    return out


def test_linear_matches_numpy():
    layer = nn.Linear(5, 3)
    assert layer.in_features == 5 and layer.out_features == 3
    x = rand(4, 5)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert w.shape == (3, 5) and np.abs(w).max() <= 1 / np.sqrt(5) + 1e-6  # PyTorch's default init
    np.testing.assert_allclose(layer(qgrad.tensor(x)).numpy(), x @ w.T + b, rtol=1e-5, atol=1e-5)
    assert nn.Linear(5, 3, bias=False).bias is None
    with pytest.raises(qgrad.Error):
        layer(qgrad.tensor(rand(4, 6)))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, padding=2),
                                dict(groups=2, bias=False), dict(kernel_size=(1, 3), padding=0)])
def test_conv2d_matches_naive_numpy(kw):
    kw = dict(kw)
    k = kw.pop("kernel_size", 3)
    conv = nn.Conv2d(4, 6, k, **kw)
    x = rand(2, 4, 7, 8)
    w = conv.weight.numpy()
    b = None if conv.bias is None else conv.bias.numpy()
    ref = np_conv2d(x, w, b, kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1), kw.get("groups", 1))
    np.testing.assert_allclose(conv(qgrad.tensor(x)).numpy(), ref, rtol=1e-4, atol=1e-4)
    assert conv.kernel_size == ((k, k) if isinstance(k, int) else k)


def test_conv2d_bad_arguments_raise():
    with pytest.raises(ValueError):
        nn.Conv2d(1, 2, 3, stride=(1, 2))
    with pytest.raises(TypeError):
        nn.Conv2d(1, 2, "3")
    with pytest.raises(qgrad.Error):
        nn.Conv2d(3, 4, 3, groups=2)


@pytest.mark.parametrize("cls,op", [(nn.MaxPool2d, "max"), (nn.AvgPool2d, "avg")])
@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 2, 1)])
def test_pools_match_numpy(cls, op, k, s, p):
    x = rand(2, 3, 7, 6)
    y = cls(kernel_size=k, stride=s, padding=p)(qgrad.tensor(x)).numpy()
    np.testing.assert_allclose(y, np_pool(x, k, s or k, p, op), rtol=1e-5, atol=1e-6)


def test_global_avg_pool_and_flatten():
    x = rand(2, 3, 4, 5)
    np.testing.assert_allclose(nn.GlobalAvgPool()(qgrad.tensor(x)).numpy(), x.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
    assert nn.GlobalAvgPool(keepdim=True)(qgrad.tensor(x)).shape == (2, 3, 1, 1)
    assert nn.Flatten()(qgrad.tensor(x)).shape == (2, 60)
    assert nn.Flatten(start_dim=2)(qgrad.tensor(x)).shape == (2, 3, 20)
    assert nn.Flatten(0, 1)(qgrad.tensor(x)).shape == (6, 4, 5)


def test_activations_match_numpy():
    from math import erf
    x = rand(3, 7) * 3
    t = qgrad.tensor(x)
    np.testing.assert_allclose(nn.ReLU()(t).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(t).numpy(), np.where(x > 0, x, 0.2 * x), rtol=1e-6)
    np.testing.assert_allclose(nn.Sigmoid()(t).numpy(), 1 / (1 + np.exp(-x)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nn.Tanh()(t).numpy(), np.tanh(x), rtol=1e-5, atol=1e-6)
    gelu = x * 0.5 * (1 + np.vectorize(erf)(x / np.sqrt(2)))
    np.testing.assert_allclose(nn.GELU()(t).numpy(), gelu, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(nn.Identity()(t).numpy(), x)


def test_batchnorm2d_train_and_eval():
    bn = nn.BatchNorm2d(3, eps=1e-5, momentum=0.2)
    x = rand(4, 3, 5, 5) * 2 + 1
    y = bn(qgrad.tensor(x)).numpy()
    mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    ref = (x - mu[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)
    n = 4 * 5 * 5
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.2 * mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.8 + 0.2 * var * n / (n - 1), rtol=1e-5)
    bn.eval()
    assert not bn.training
    rm, rv = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    y = bn(qgrad.tensor(x)).numpy()
    np.testing.assert_allclose(y, (x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + 1e-5),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(bn.running_mean.numpy(), rm)  # eval leaves the statistics alone
    assert nn.BatchNorm1d(4, affine=False).weight is None
    assert bn.weight.shape == (3,) and bn.num_features == 3


def test_dropout_train_eval():
    qgrad.manual_seed(3)
    d = nn.Dropout(p=0.5)
    x = np.ones((50, 40), np.float32)
    y = d(qgrad.tensor(x)).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.35 < (y == 0).mean() < 0.65
    d.eval()
    np.testing.assert_array_equal(d(qgrad.tensor(x)).numpy(), x)
    with pytest.raises(qgrad.Error):
        nn.Dropout(p=1.5)


def test_residual_add_basic_block():
    body = nn.Linear(4, 4)
    x = rand(3, 4)
    r = nn.Residual(body)
    np.testing.assert_allclose(r(qgrad.tensor(x)).numpy(), body(qgrad.tensor(x)).numpy() + x, rtol=1e-6)
    short = nn.Linear(4, 4)
    r2 = nn.Residual(body, short)
    np.testing.assert_allclose(r2(qgrad.tensor(x)).numpy(),
                               body(qgrad.tensor(x)).numpy() + short(qgrad.tensor(x)).numpy(), rtol=1e-5)
    a, b = rand(2, 3), rand(2, 3)
    np.testing.assert_allclose(nn.Add()(qgrad.tensor(a), qgrad.tensor(b)).numpy(), a + b)
    block = nn.BasicBlock(4, 8, stride=2)
    assert block(qgrad.tensor(rand(2, 4, 6, 6))).shape == (2, 8, 3, 3)
    names = [n for n, _ in block.named_parameters()]
    assert "body.0.weight" in names and "shortcut.0.weight" in names


def test_losses():
    logits, targets = rand(5, 4), np.array([0, 3, 1, 2, 3], np.int32)
    ls = logits - logits.max(1, keepdims=True)
    ls = ls - np.log(np.exp(ls).sum(1, keepdims=True))
    ce = nn.CrossEntropyLoss()(qgrad.tensor(logits), qgrad.tensor(targets))
    assert abs(ce.item() + ls[np.arange(5), targets].mean()) < 1e-5
    p, t = rand(3, 2), rand(3, 2)
    assert abs(nn.MSELoss()(qgrad.tensor(p), qgrad.tensor(t)).item() - ((p - t) ** 2).mean()) < 1e-5
    with pytest.raises(qgrad.Error):
        nn.CrossEntropyLoss()(qgrad.tensor(logits), qgrad.tensor(np.array([0, 9, 1, 2, 3], np.int32)))


def test_init_functions():
    from qgrad.nn import init
    import qgrad.nn.init as init2
    assert init is init2 is nn.init
    w = qgrad.zeros((64, 32))
    assert init.fans(w) == (32, 64)
    assert abs(init.gain("relu") - np.sqrt(2)) < 1e-6 and abs(init.gain("tanh") - 5 / 3) < 1e-6
    qgrad.manual_seed(1)
    init.uniform_(w, -0.5, 0.25)
    v = w.numpy()
    assert v.min() >= -0.5 and v.max() <= 0.25 and v.std() > 0.1
    init.kaiming_uniform_(w, nonlinearity="relu")
    assert np.abs(w.numpy()).max() <= np.sqrt(2) * np.sqrt(3 / 32) + 1e-6
    init.xavier_normal_(w)
    assert abs(w.numpy().std() - np.sqrt(2 / 96)) < 0.03
    init.normal_(w, 3.0, 0.1)
    assert abs(w.numpy().mean() - 3.0) < 0.05
    init.kaiming_normal_(w, mode="fan_out")
    assert abs(w.numpy().std() - np.sqrt(2 / 64)) < 0.03
    init.xavier_uniform_(w, gain=2.0)
    assert np.abs(w.numpy()).max() <= 2 * np.sqrt(6 / 96) + 1e-6
    with pytest.raises(ValueError):
        init.gain("swish")


def test_state_dict_round_trip_and_modes():
    qgrad.manual_seed(0)
    a = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    names = [n for n, _ in a.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias"]
    assert len(a.parameters()) == 6 and a.num_parameters() == 2 * 9 + 2 + 2 + 2 + 24 + 3
    sd = a.state_dict()
    assert "1.running_mean" in sd
    b = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    assert not np.allclose(b.state_dict()["4.weight"].numpy(), sd["4.weight"].numpy())
    b.load_state_dict({k: v.numpy() for k, v in sd.items()})
    for k, v in sd.items():
        np.testing.assert_array_equal(b.state_dict()[k].numpy(), v.numpy())
    with pytest.raises(qgrad.Error):
        b.load_state_dict({"4.weight": sd["4.weight"]})
    a.eval()
    assert not a.training and not a[1].training
    a.train()
    assert a[1].training
    x = qgrad.tensor(rand(2, 1, 4, 4))
    a.eval(); b.eval()
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


class Net(nn.Module):
    """A small residual MLP written in Python: y = fc2(relu(fc1(x)) + skip(x))."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.skip = nn.Linear(4, 8, bias=False)
        self.act = nn.ReLU()
        self.add = nn.Add()
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(self.add(self.act(self.fc1(x)), self.skip(x)))


def test_python_module_trains_with_sgd():
    qgrad.manual_seed(5)
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["fc1.weight", "fc1.bias", "skip.weight", "fc2.weight", "fc2.bias"]
    x = rand(64, 4)
    y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5).astype(np.int32)  # 3 classes
    xt, yt = qgrad.tensor(x), qgrad.tensor(y)
    opt = qgrad.optim.SGD(net.parameters(), lr=0.2, momentum=0.9)
    losses = []
    for _ in range(30):
        loss = qgrad.cross_entropy(net(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses
    net.eval()
    assert not net.training and not net.fc1.training
    table = net.summary((2, 4))  # runs the Python forward from C++
    assert "Net" in repr(net) and "fc2" in table and "Linear" in table
    np.testing.assert_array_equal(net.fc2.forward(net.fc1.forward(xt).relu() + net.skip(xt)).numpy(), net(xt).numpy())


def test_python_module_gradient_vs_finite_differences():
    qgrad.manual_seed(7)
    net = Net()
    x = rand(6, 4)
    y = np.array([0, 1, 2, 1, 0, 2], np.int32)
    loss = qgrad.cross_entropy(net(qgrad.tensor(x)), qgrad.tensor(y))
    loss.backward()
    grad = net.fc1.weight.grad.numpy().copy()
    p = {n: t.numpy().astype(np.float64) for n, t in net.named_parameters()}

    def np_loss(w1):  # the same network in float64 NumPy
        h = np.maximum(x @ w1.T + p["fc1.bias"], 0) + x @ p["skip.weight"].T
        z = h @ p["fc2.weight"].T + p["fc2.bias"]
        z = z - z.max(1, keepdims=True)
        return -(z[np.arange(6), y] - np.log(np.exp(z).sum(1))).mean()

    assert abs(np_loss(p["fc1.weight"]) - loss.item()) < 1e-5
    eps, num = 1e-6, np.zeros_like(grad, dtype=np.float64)
    for idx in np.ndindex(*grad.shape):
        wp, wm = p["fc1.weight"].copy(), p["fc1.weight"].copy()
        wp[idx] += eps
        wm[idx] -= eps
        num[idx] = (np_loss(wp) - np_loss(wm)) / (2 * eps)
    assert np.abs(num).max() > 1e-3
    np.testing.assert_allclose(grad, num, rtol=1e-3, atol=1e-5)


def test_python_child_kept_alive_by_container():
    import gc
    seq = nn.Sequential(Net())
    res = nn.Residual(Net(), nn.Linear(4, 3))
    gc.collect()
    x = qgrad.tensor(rand(2, 4))
    assert seq(x).shape == (2, 3) and res(x).shape == (2, 3)
