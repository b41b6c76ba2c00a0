"""Eager-mode quantization of a Python model: quant.prepare/prepare_qat(model, inplace=True)
swap the model's children for their prepared twins and convert(model, inplace=True) for their
integer models, while the model object and its Python forward stay the same."""
import numpy as np
import pytest

import qgrad
from qgrad import nn, quant


class Block(nn.Module):  # a residual written by hand: the join is an nn.Add module
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.add = nn.Add()

    def forward(self, x):
        return self.add(qgrad.relu(self.conv(x)), x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.block = Block()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 14 * 14, 10)

    def forward(self, x):
        x = self.pool(self.block(self.stem(x)))
        return self.fc(x.flatten(1))


def batches(n, seed):
    rng = np.random.default_rng(seed)
    # Structured, not all-zero: smooth blobs plus noise, as images go.
    base = np.sin(np.linspace(0, 6, 28))[None, None, :, None] * np.cos(np.linspace(0, 4, 28))
    return [qgrad.tensor((base + 0.3 * rng.standard_normal((16, 1, 28, 28))).astype(np.float32))
            for _ in range(n)]


def test_prepare_calibrate_convert_in_place():
    qgrad.manual_seed(0)
    net = Net().eval()
    x = batches(1, 9)[0]
    float_out = net(x).numpy().copy()
    same = quant.prepare(net, inplace=True)
    assert same is net and isinstance(net, Net)
    kinds = [m.type_name() for _, m in net.named_modules()]
    assert "QatConvBn2d" in kinds and "QatLinear" in kinds and "FakeQuantize" in kinds
    assert net.pool.type_name() == "MaxPool2d"  # nothing to quantize: left alone
    quant.calibrate(net, batches(4, 1) + [x])
    quant.freeze(net)
    fake_out = net(x).numpy().copy()
    quant.convert(net, inplace=True)
    assert [net.stem.type_name(), net.block.conv.type_name(), net.fc.type_name()] == ["IntModel"] * 3
    assert net.block.add.type_name() == "Add"
    int_out = net(x).numpy()
    # Each integer child computes exactly what its fake-quant twin did ...
    np.testing.assert_array_equal(int_out, fake_out)
    # ... and the whole stays close to float (8 bits everywhere).
    assert (int_out.argmax(1) == float_out.argmax(1)).mean() >= 0.9
    assert np.abs(int_out - float_out).max() < 0.1 * np.abs(float_out).max()


def test_qat_in_place_trains_and_converts():
    qgrad.manual_seed(1)
    net = Net()
    config = quant.default_qconfig(net.fc, weight_bits=4, activation_bits=8)
    quant.prepare_qat(net, config, inplace=True)
    names = [n for n, _ in net.named_parameters()]
    assert any(n.startswith("stem.") for n in names) and any(n.startswith("fc.") for n in names)
    opt = qgrad.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    x = batches(1, 3)[0]
    y = qgrad.tensor(np.arange(16) % 10)
    losses = []
    for _ in range(40):
        loss = qgrad.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < 0.7 * losses[0], losses
    net.eval()
    quant.freeze(net)
    fake_out = net(x).numpy().copy()
    quant.convert(net, inplace=True)
    np.testing.assert_array_equal(net(x).numpy(), fake_out)


def test_in_place_errors():
    class NoLayers(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(x)

    with pytest.raises(qgrad.Error, match="no child holding a Conv2d or Linear"):
        quant.prepare(NoLayers(), inplace=True)
    with pytest.raises(qgrad.Error, match="not prepared in place"):
        quant.convert(Net(), inplace=True)


def test_assigning_over_a_child_replaces_it():
    net = Net()
    before = len(net.parameters())
    net.fc = nn.Linear(4 * 14 * 14, 10, bias=False)
    assert len(net.parameters()) == before - 1
    assert [n for n, _ in net.named_children()] == ["stem", "block", "pool", "fc"]
    assert net(batches(1, 0)[0]).shape == (16, 10)
