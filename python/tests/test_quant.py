"""qgrad.quant: qparams, (fake) quantization, observers, metrics, non-linear weights, and the
prepare -> calibrate -> convert -> save pipeline, each checked against NumPy or against the
property the C++ headers document."""
import math

import numpy as np
import pytest

import qgrad
from qgrad import quant


# --- helpers ---------------------------------------------------------------------------------

def round_half_away(v):
    """std::round: ties away from zero (in float64, exact for float32 inputs)."""
    v = np.asarray(v, dtype=np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def np_qparams(lo, hi, bits, symmetric):
    """quant/math/qparams.h's formulas, in NumPy (float32 as the C++ computes)."""
    lo, hi = np.float32(lo), np.float32(hi)
    if symmetric:
        qmax = 2 ** (bits - 1) - 1
        scale = np.float32(max(abs(lo), abs(hi))) / np.float32(qmax)
        return float(scale), 0
    lo, hi = min(lo, np.float32(0)), max(hi, np.float32(0))
    qmax = 2 ** bits - 1
    scale = (hi - lo) / np.float32(qmax)
    zp = int(np.clip(round_half_away(-lo / scale), 0, qmax))
    return float(scale), zp


def np_quantize(x, scale, zp, qmin, qmax):
    q = round_half_away(np.float32(x) / np.float32(scale)) + zp
    return np.clip(q, qmin, qmax)


def mnist_like(n, seed):
    """Random but structured 1x28x28 images: a few bright Gaussian strokes on black, normalized
    as the MNIST loader does."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    imgs = np.zeros((n, 1, 28, 28), np.float32)
    for i in range(n):
        for _ in range(rng.integers(2, 5)):
            cy, cx = rng.uniform(6, 22, size=2)
            sy, sx = rng.uniform(1.0, 4.0, size=2)
            imgs[i, 0] += np.exp(-((yy - cy) ** 2 / (2 * sy ** 2) + (xx - cx) ** 2 / (2 * sx ** 2)))
    imgs = np.clip(imgs, 0, 1)
    return ((imgs - 0.1307) / 0.3081).astype(np.float32)


def calibrated(prepared, batches):
    """PTQ: observe the batches (eval mode, no graph), then freeze and switch fake-quant on."""
    prepared.eval()
    with qgrad.no_grad():
        for b in batches:
            prepared(qgrad.tensor(b))
    quant.set_observe(prepared, False)
    quant.set_fake_quant(prepared, True)
    return prepared


def run(model, x):
    with qgrad.no_grad():
        return model(qgrad.tensor(x)).numpy().copy()


# --- qparams ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bits", range(2, 9))
@pytest.mark.parametrize("symmetric", [False, True])
def test_qparams_from_range_per_tensor(bits, symmetric):
    rng = np.random.default_rng(bits + 10 * symmetric)
    for lo, hi in [(-1.3, 2.7), (0.25, 3.0), (-5.0, -0.5), *rng.uniform(-4, 4, size=(5, 2))]:
        lo, hi = min(lo, hi), max(lo, hi)
        qp = quant.qparams_from_range(float(lo), float(hi), quant.QScheme(bits=bits, symmetric=symmetric))
        scale, zp = np_qparams(lo, hi, bits, symmetric)
        assert qp.bits == bits and qp.is_signed == symmetric and qp.axis is None
        assert qp.scale[0] == pytest.approx(scale, rel=1e-6)
        assert qp.zero_point == [zp]
        if symmetric:
            assert (qp.qmin, qp.qmax) == (-(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1)
        else:
            assert (qp.qmin, qp.qmax) == (0, 2 ** bits - 1)


@pytest.mark.parametrize("bits", range(2, 9))
def test_article_formula_when_min_is_on_the_grid(bits):
    # The article: q = round((x - min) / (max - min) * (2^n - 1)). With min = -k a, max = (2^n-1-k) a
    # (a a power of two) the range holds 0 and min lies on the grid: ours equals it exactly.
    levels = 2 ** bits - 1
    k, a = levels // 3, 2.0 ** -4
    lo, hi = -k * a, (levels - k) * a
    qp = quant.qparams_from_range(lo, hi, quant.QScheme(bits=bits))
    assert qp.scale == [a] and qp.zero_point == [k]
    x = np.random.default_rng(bits).uniform(lo, hi, size=4000).astype(np.float32)
    article = np.floor((x.astype(np.float64) - lo) / (hi - lo) * levels + 0.5)
    frac = (x.astype(np.float64) - lo) / (hi - lo) * levels % 1.0
    keep = np.abs(frac - 0.5) > 1e-6  # no exact ties (the two rules agree there only on x >= 0)
    got = quant.quantize(x, qp).numpy().astype(np.int64)
    assert got.dtype == np.int64 and keep.sum() > 3900
    np.testing.assert_array_equal(got[keep], article[keep])


@pytest.mark.parametrize("symmetric", [False, True])
def test_qparams_from_range_per_channel(symmetric):
    rng = np.random.default_rng(3)
    for bits in (2, 4, 8):
        lo = rng.uniform(-3, 0.5, size=6).astype(np.float32)
        hi = lo + rng.uniform(0.1, 4, size=6).astype(np.float32)
        qp = quant.qparams_from_range(lo.tolist(), hi.tolist(), quant.QScheme(bits, symmetric, axis=0))
        assert qp.axis == 0 and qp.per_channel and qp.channels == 6
        for c in range(6):
            scale, zp = np_qparams(lo[c], hi[c], bits, symmetric)
            assert qp.scale[c] == pytest.approx(scale, rel=1e-6)
            assert qp.zero_point[c] == zp


def test_quantize_matches_numpy_and_round_trip_error():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1.5, size=(8, 5)).astype(np.float32)
    for symmetric in (False, True):
        for bits in (3, 8):
            qp = quant.qparams_from_range(float(x.min()), float(x.max()), quant.QScheme(bits, symmetric))
            q = quant.quantize(x, qp)
            assert q.dtype == (qgrad.int8 if symmetric else qgrad.uint8)
            expect = np_quantize(x, qp.scale[0], qp.zero_point[0], qp.qmin, qp.qmax)
            np.testing.assert_array_equal(q.numpy().astype(np.int64), expect)
            back = quant.dequantize(q, qp).numpy()
            assert back.dtype == np.float32
            assert np.max(np.abs(back - x)) <= qp.scale[0] / 2 * (1 + 1e-5)
    # per channel along axis 1: each column its own scale
    lo, hi = x.min(axis=0), x.max(axis=0)
    qp = quant.qparams_from_range(lo.tolist(), hi.tolist(), quant.QScheme(8, True, axis=1))
    back = quant.dequantize(quant.quantize(x, qp), qp).numpy()
    err = np.abs(back - x)
    assert np.all(err <= np.array(qp.scale, np.float32)[None, :] / 2 * (1 + 1e-5))
    np.testing.assert_array_equal(quant.fake_quantize(x, qp).numpy(), back)


def test_fake_quantize_straight_through_gradient():
    qp = quant.qparams_from_range(-1.0, 1.0, quant.QScheme(bits=4))
    x = np.linspace(-1.6, 1.6, 97).astype(np.float32)
    xt = qgrad.tensor(x).requires_grad_(True)
    y = quant.fake_quantize(xt, qp)
    # a weighted sum, so the gradient is the STE mask times the weights
    w = np.arange(1, 98, dtype=np.float32)
    (y * qgrad.tensor(w)).sum().backward()
    q = round_half_away(x / np.float32(qp.scale[0])) + qp.zero_point[0]
    inside = (q >= qp.qmin) & (q <= qp.qmax)
    assert 10 < inside.sum() < len(x)  # both cases occur
    np.testing.assert_array_equal(xt.grad.numpy(), np.where(inside, w, 0).astype(np.float32))
    np.testing.assert_array_equal(y.detach().numpy(), quant.dequantize(quant.quantize(x, qp), qp).numpy())


# --- observers ---------------------------------------------------------------------------------

def batches(seed, n=4, shape=(6, 10)):
    rng = np.random.default_rng(seed)
    return [(rng.normal(0.3 * i, 1 + i, size=shape)).astype(np.float32) for i in range(n)]


def test_minmax_observer_per_tensor_and_per_channel():
    bs = batches(5)
    obs = quant.MinMaxObserver(quant.QScheme(bits=8))
    for b in bs:
        obs.observe(b)
    allv = np.concatenate([b.ravel() for b in bs])
    assert obs.min == [allv.min()] and obs.max == [allv.max()] and obs.observations == 4
    assert obs.qparams() == quant.qparams_from_range(float(allv.min()), float(allv.max()), quant.QScheme(bits=8))

    pc = quant.MinMaxObserver(quant.QScheme(bits=4, symmetric=True, axis=0))
    for b in bs:
        pc.observe(b)
    stack = np.stack(bs)  # [batch, 6, 10]
    np.testing.assert_array_equal(pc.min, stack.min(axis=(0, 2)))
    np.testing.assert_array_equal(pc.max, stack.max(axis=(0, 2)))
    qp = pc.qparams()
    assert qp.axis == 0 and qp.zero_point == [0] * 6
    expect = np.maximum(np.abs(stack.min(axis=(0, 2))), np.abs(stack.max(axis=(0, 2)))) / np.float32(7)
    np.testing.assert_allclose(qp.scale, expect, rtol=1e-6)


def test_moving_average_observer():
    bs, c = batches(6), 0.25
    obs = quant.MovingAverageMinMaxObserver(quant.QScheme(bits=8), averaging_constant=c)
    lo, hi = None, None
    for b in bs:
        obs.observe(b)
        if lo is None:
            lo, hi = np.float32(b.min()), np.float32(b.max())
        else:
            lo = np.float32((1 - c) * lo + c * b.min())
            hi = np.float32((1 - c) * hi + c * b.max())
    assert obs.min[0] == pytest.approx(lo, rel=1e-6) and obs.max[0] == pytest.approx(hi, rel=1e-6)
    # it differs from plain min/max (the batches drift)
    assert obs.max[0] < max(b.max() for b in bs) - 0.1
    qp = obs.qparams()
    scale, zp = np_qparams(obs.min[0], obs.max[0], 8, False)
    assert qp.scale[0] == pytest.approx(scale, rel=1e-6) and qp.zero_point == [zp]


@pytest.mark.parametrize("symmetric", [False, True])
def test_percentile_observer(symmetric):
    bs, p = batches(7, shape=(50, 40)), 99.0
    obs = quant.PercentileObserver(quant.QScheme(bits=8, symmetric=symmetric), percentile=p)
    for b in bs:
        obs.observe(b)
    allv = np.concatenate([b.ravel() for b in bs]).astype(np.float64)
    if symmetric:
        m = np.percentile(np.abs(allv), p)
        lo, hi = -m, m
    else:
        lo, hi = np.percentile(allv, 100 - p), np.percentile(allv, p)
    assert lo > allv.min() and hi < allv.max()  # the tails are clipped
    qp = obs.qparams()
    scale, zp = np_qparams(lo, hi, 8, symmetric)
    assert qp.scale[0] == pytest.approx(scale, rel=1e-5)
    assert qp.zero_point == [zp]
    assert quant.percentile(allv.astype(np.float32), 37.5) == pytest.approx(np.percentile(allv, 37.5), rel=1e-5)


def test_mse_observer_beats_minmax_with_outliers():
    rng = np.random.default_rng(8)
    x = rng.normal(0, 1, size=4000).astype(np.float32)
    x[:3] = [40.0, -35.0, 30.0]  # outliers stretch the min/max range
    mse_obs, mm_obs = quant.MseObserver(quant.QScheme(bits=4)), quant.MinMaxObserver(quant.QScheme(bits=4))
    mse_obs.observe(x)
    mm_obs.observe(x)

    def err(qp):
        return float(np.mean((quant.fake_quantize(x, qp).numpy().astype(np.float64) - x) ** 2))

    assert mse_obs.qparams().scale[0] < mm_obs.qparams().scale[0]
    assert err(mse_obs.qparams()) < err(mm_obs.qparams())


def test_observer_errors():
    with pytest.raises(qgrad.Error):
        quant.MinMaxObserver().qparams()  # nothing observed
    with pytest.raises(qgrad.Error):
        quant.MinMaxObserver().observe(np.array([1.0, np.nan], np.float32))


# --- metrics -----------------------------------------------------------------------------------

def test_metrics_match_numpy():
    rng = np.random.default_rng(9)
    x = rng.normal(0, 2, size=(10, 12)).astype(np.float32)
    qp = quant.qparams_from_range(-2.0, 2.5, quant.QScheme(bits=5))
    xh = quant.fake_quantize(x, qp).numpy()
    d = x.astype(np.float64) - xh
    assert quant.mse(x, xh) == pytest.approx(np.mean(d ** 2), rel=1e-9)
    assert quant.sqnr_db(x, xh) == pytest.approx(10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum(d ** 2)), rel=1e-9)
    q = round_half_away(x / np.float32(qp.scale[0])) + qp.zero_point[0]
    clipped = np.mean((q < qp.qmin) | (q > qp.qmax))
    assert 0 < clipped < 1
    assert quant.clipped_fraction(x, qp) == pytest.approx(clipped)
    assert math.isinf(quant.sqnr_db(x, x))


# --- non-linear weights --------------------------------------------------------------------------

def test_kmeans_codebook():
    rng = np.random.default_rng(10)
    w = rng.normal(0, 0.1, size=(16, 20)).astype(np.float32)
    cb = quant.kmeans_quantize(w, bits=3, max_iterations=100)
    c = cb.centroids.numpy()
    idx = cb.indices.numpy()
    assert c.shape == (8,) and np.all(np.diff(c) > 0)
    assert idx.dtype == np.uint8 and idx.shape == w.shape and idx.max() < 8
    rec = cb.reconstruct().numpy()
    np.testing.assert_array_equal(rec, c[idx])
    assert len(np.unique(rec)) <= 8
    if cb.iterations < 100:  # converged: every weight at its nearest centroid
        nearest = np.abs(w[..., None] - c).argmin(axis=-1)
        assert np.mean(nearest == idx) > 0.999
    # a centroid is the mean of its weights (Lloyd's fixed point)
    for k in range(8):
        if np.any(idx == k):
            assert c[k] == pytest.approx(w[idx == k].mean(), rel=1e-4, abs=1e-6)
    linear = quant.fake_quantize(w, quant.qparams_from_range(float(w.min()), float(w.max()),
                                                              quant.QScheme(bits=3, symmetric=True)))
    assert quant.mse(w, rec) < quant.mse(w, linear)


def test_power_of_two():
    rng = np.random.default_rng(11)
    w = rng.normal(0, 0.2, size=200).astype(np.float32)
    p2 = quant.power_of_two_quantize(w, bits=4)
    rec = p2.reconstruct().numpy()
    codes = p2.codes.numpy()
    assert codes.dtype == np.int8 and np.abs(codes).max() <= 7
    assert p2.k_max - p2.k_min == 2 ** 3 - 2
    nz = rec != 0
    k = np.log2(np.abs(rec[nz]))
    np.testing.assert_array_equal(k, np.round(k))  # every level a power of two
    assert k.min() >= p2.k_min and k.max() <= p2.k_max
    assert np.all(np.sign(rec[nz]) == np.sign(w[nz]))
    assert np.abs(rec).max() == 2.0 ** p2.k_max
    np.testing.assert_array_equal(np.sign(codes[nz]), np.sign(rec[nz]))


# --- prepare -> calibrate -> convert -----------------------------------------------------------

def test_ptq_lenet5_integer_model_equals_fake_quant():
    model = qgrad.nn.model("lenet5", seed=2)
    prepared = quant.prepare(model, quant.default_qconfig(model))
    assert len(prepared) > len(model)
    fq = [m for m in prepared.children() if isinstance(m, quant.FakeQuantize)]
    assert fq and all(m.observing and not m.fake_quantizing for m in fq)
    calibrated(prepared, [mnist_like(40, s) for s in (1, 2)])
    assert all(m.has_qparams and not m.observing and m.fake_quantizing for m in fq)

    im = quant.convert(prepared)
    assert isinstance(im, quant.IntModel) and isinstance(im, qgrad.nn.Module)
    assert len(im.layers) >= 8 and any(line.startswith("QuantizedConv2d(") for line in im.layers)
    x = mnist_like(64, 3)
    a, b = run(prepared, x), run(im, x)
    assert a.shape == b.shape == (64, 10) and np.std(a) > 0
    # docs/quantization.md section 7: the fake-quant model forwards the integer layers' own codes,
    # so for LeNet-5 (conv/linear/max-pool only) the two agree exactly, not just in argmax.
    np.testing.assert_array_equal(a, b)
    assert np.mean(a.argmax(1) == b.argmax(1)) == 1.0
    # forward = dequantize(forward_int(quantize(x)))
    codes = im.forward_int(quant.quantize(x, im.input_qparams))
    assert codes.dtype == qgrad.uint8
    np.testing.assert_array_equal(quant.dequantize(codes, im.output_qparams).numpy(), b)
    # and the integer model is close to the float one
    f = run(model, x)
    assert np.mean(f.argmax(1) == b.argmax(1)) > 0.9


class TwoStage(qgrad.nn.Module):
    """A Python forward over zoo pieces: traced through the trampoline by prepare(example=...)."""

    def __init__(self, seed):
        super().__init__()
        z = qgrad.nn.model("lenet5", seed=seed)
        self.features = qgrad.nn.Sequential(*[z[i] for i in range(6)])
        self.flatten = z[6]
        self.head = qgrad.nn.Sequential(*[z[i] for i in range(7, 12)])
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.head(self.flatten(self.features(x)))


def test_python_subclass_prepare_with_example():
    net = TwoStage(seed=4)
    x = mnist_like(32, 5)
    f = run(net, x)
    with pytest.raises(qgrad.Error, match="example"):
        quant.prepare(net)  # not a Sequential: needs an example to trace
    calls = net.calls
    prepared = quant.prepare(net, quant.default_qconfig(net), example=qgrad.tensor(x[:2]))
    assert net.calls == calls + 1  # traced by one call of the Python forward
    calibrated(prepared, [mnist_like(40, 6)])
    im = quant.convert(prepared)
    a, b = run(prepared, x), run(im, x)
    np.testing.assert_array_equal(a, b)
    assert np.mean(f.argmax(1) == b.argmax(1)) > 0.8
    # the config names layers by their paths in the Python model
    qc = quant.default_qconfig(net)
    assert qc.for_module("features.0").quantize and qc.for_module("head.4").quantize


def test_qconfig_rules_and_default_qconfig():
    model = qgrad.nn.model("lenet5")
    qc = quant.default_qconfig(model, weight_bits=4, activation_bits=8)
    assert qc.for_module("0").weight.bits == 8 and qc.for_module("11").weight.bits == 8  # the 8-bit ends
    assert qc.for_module("3").weight.bits == 4 and qc.for_module("3").weight.axis == 0
    keep_float = quant.LayerQConfig(quantize=False)
    custom = quant.QConfig(default=quant.LayerQConfig(weight=quant.QScheme(6, True, 0)),
                           rules=[("1?", keep_float), ("*", quant.LayerQConfig(observer="ema"))])
    assert not custom.for_module("11").quantize
    assert custom.for_module("3").observer == "ema" and custom.default.weight.bits == 6
    assert quant.glob_match("features.*", "features.1.0")
    with pytest.raises(qgrad.Error, match="minmax"):
        quant.LayerQConfig(observer="nope")
    idx = quant.calibration_indices(quant.Sampling("random", count=10, seed=3), 100)
    assert len(idx) == 10 and idx == sorted(set(idx)) and max(idx) < 100
    assert quant.calibration_indices(quant.Sampling("uniform", count=4), 100) == [0, 25, 50, 75]


def cross_entropy(logits, labels):
    onehot = np.eye(10, dtype=np.float32)[labels]
    return -(logits.log_softmax(1) * qgrad.tensor(onehot)).sum() / float(len(labels))


def test_qat_manual_sgd_loss_decreases():
    model = qgrad.nn.model("lenet5", seed=5)
    prepared = quant.prepare_qat(model, quant.default_qconfig(model, weight_bits=4, activation_bits=8))
    fq = [m for m in prepared.children() if isinstance(m, quant.FakeQuantize)]
    assert fq and all(m.observing and m.fake_quantizing for m in fq)
    prepared.train()
    x = qgrad.tensor(mnist_like(16, 7))
    labels = np.arange(16) % 10
    params = prepared.parameters()
    assert params
    losses = []
    for _ in range(20):
        prepared.zero_grad()
        loss = cross_entropy(prepared(x), labels)
        loss.backward()
        losses.append(loss.item())
        with qgrad.no_grad():
            for p in params:
                if p.grad is not None:
                    p.copy_(p - 0.1 * p.grad)
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0] * 0.9
    assert sum(b < a for a, b in zip(losses, losses[1:])) >= 15  # mostly decreasing
    # the QAT model converts, and the integer model predicts what it does
    quant.set_observe(prepared, False)
    prepared.eval()
    im = quant.convert(prepared)
    xe = mnist_like(32, 8)
    np.testing.assert_array_equal(run(prepared, xe), run(im, xe))


def test_save_load_report_round_trip(tmp_path):
    model = qgrad.nn.model("lenet5", seed=6)
    prepared = calibrated(quant.prepare(model), [mnist_like(40, 9)])
    im = quant.convert(prepared)
    im.input_spec = quant.InputSpec((1, 28, 28), [0.1307], [0.3081])
    path = tmp_path / "lenet5_int8.safetensors"
    im.save(path, metadata={"arch": "lenet5", "note": "test"})
    loaded = quant.load_int_model(str(path))
    x = mnist_like(20, 10)
    np.testing.assert_array_equal(run(im, x), run(loaded, x))
    assert loaded.layers == im.layers
    assert loaded.input_qparams == im.input_qparams and loaded.output_qparams == im.output_qparams
    assert loaded.input_spec.shape == (1, 28, 28) and loaded.input_spec.mean == pytest.approx([0.1307])

    f = quant.read_int_model(path)
    assert f.metadata["arch"] == "lenet5" and f.metadata["note"] == "test"
    assert f.metadata["qgrad.format"] == "qgrad-int-model-1"
    assert f.metadata["qgrad.int_layers"].splitlines() == im.layers
    assert len(f.layer_bytes) == len(im.layers) and sum(f.layer_bytes) > 40000

    # raw pixels: predict_pixels normalizes with the spec, then runs the integer layers
    pixels = np.random.default_rng(11).integers(0, 256, size=(5, 1, 28, 28), dtype=np.uint8)
    codes, labels = loaded.predict_pixels(pixels)
    xn = quant.normalize_pixels(loaded.input_spec, pixels).numpy()
    np.testing.assert_array_equal(codes.numpy(), loaded.forward_int(quant.quantize(xn, loaded.input_qparams)).numpy())
    np.testing.assert_array_equal(labels, codes.numpy().argmax(1))

    rows = quant.report(path)
    assert len(rows) == len(im.layers)
    keys = {"index", "kind", "description", "file_bytes", "weight_bits", "granularity", "weight_shape",
            "scale_min", "scale_max", "zero_point_min", "zero_point_max", "weight_clip_lo", "weight_clip_hi",
            "has_output", "output_clip_lo", "output_clip_hi", "sqnr_db", "clipped_fraction"}
    assert all(set(r) == keys for r in rows)
    conv = rows[0]
    assert conv["kind"] == "QuantizedConv2d" and conv["weight_bits"] == 8 and conv["granularity"] == "channel"
    assert conv["weight_shape"] == [6, 25] and conv["has_output"] and conv["file_bytes"] > 0
    assert conv["weight_clip_lo"] == pytest.approx(-conv["weight_clip_hi"])
    w0 = model.state_dict()["0.weight"]
    rows = quant.report(f, float_weights={0: w0})
    assert rows[0]["sqnr_db"] > 30 and rows[0]["clipped_fraction"] == 0.0 and rows[1]["sqnr_db"] is None

    h = quant.histogram(w0, conv["weight_clip_lo"], conv["weight_clip_hi"], 16)
    assert len(h["edges"]) == 17 and sum(h["counts"]) == 150 and h["below"] == h["above"] == 0
    np.testing.assert_array_equal(h["counts"], np.histogram(w0.numpy(), bins=np.array(h["edges"]))[0])


def test_quantize_dynamic_mlp():
    model = qgrad.nn.model("mlp", seed=7)
    dyn = quant.quantize_dynamic(model)
    dyn.eval()
    kinds = [type(m).__name__ for m in dyn.children()]
    assert kinds.count("DynamicQuantLinear") == 3
    x = mnist_like(8, 12)
    f, d = run(model, x), run(dyn, x)
    assert np.max(np.abs(f - d)) < 0.05 * np.max(np.abs(f)) + 1e-3
    assert np.mean(f.argmax(1) == d.argmax(1)) >= 0.75


# --- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [1, 9])
def test_bad_bits_raise_the_cpp_message(bits):
    with pytest.raises(qgrad.Error, match="bits") as e:
        quant.qparams_from_range(-1.0, 1.0, quant.QScheme(bits=bits))
    assert "2..8" in str(e.value) or str(bits) in str(e.value)
    with pytest.raises(qgrad.Error):
        quant.QParams(0.1, 0, bits=bits)
    mlp = qgrad.nn.model("mlp")
    with pytest.raises(qgrad.Error):
        quant.prepare(mlp, quant.default_qconfig(mlp, weight_bits=bits))


def test_wrong_inputs_raise_not_crash():
    qp = quant.qparams_from_range(-1.0, 1.0, quant.QScheme(bits=8))
    with pytest.raises((qgrad.Error, TypeError)):
        quant.quantize(np.arange(4, dtype=np.int8), qp)  # quantize takes float32
    with pytest.raises((qgrad.Error, TypeError)):
        quant.dequantize(np.ones(4, np.float32), qp)  # dequantize takes the codes
    with pytest.raises(qgrad.Error):
        quant.qparams_from_range(2.0, 1.0, quant.QScheme())  # min > max
    with pytest.raises(qgrad.Error):
        quant.qparams_from_range([0.0, 1.0], [1.0], quant.QScheme(axis=0))
    model = qgrad.nn.model("lenet5")
    im = quant.convert(calibrated(quant.prepare(model), [mnist_like(8, 13)]))
    with pytest.raises(qgrad.Error):
        im.forward_int(np.zeros((1, 1, 28, 28), np.float32))  # codes are uint8
    with pytest.raises(qgrad.Error):
        im.predict_pixels(np.zeros((1, 1, 28, 28), np.uint8))  # no input spec
    with pytest.raises(qgrad.Error):
        quant.convert(quant.prepare(model))  # never calibrated
    with pytest.raises(qgrad.Error):
        quant.load_int_model("/nonexistent/model.safetensors")
    with pytest.raises(TypeError):
        quant.convert(model.state_dict())


# --- pure-Python conveniences, packing, non-linear weights through the pipeline -----------------

def test_calibrate_and_freeze_helpers():
    model = qgrad.nn.model("lenet5", seed=8)
    data = [mnist_like(20, s) for s in (14, 15)]
    a = quant.prepare(model)
    a.train()
    assert quant.calibrate(a, data) == 2
    assert a.training  # mode restored
    quant.freeze(a)
    b = calibrated(quant.prepare(model), data)  # by hand, as above
    x = mnist_like(16, 16)
    np.testing.assert_array_equal(run(a, x), run(b, x))
    np.testing.assert_array_equal(quant.convert(a).forward_int(quant.quantize(x, b[0].qparams())).numpy(),
                                  quant.convert(b).forward_int(quant.quantize(x, b[0].qparams())).numpy())


def test_pack_codes_layout_and_round_trip():
    codes = np.array([1, -2, 7, -8, 3], np.int8)
    packed = quant.pack_codes(codes, 4)
    assert packed.dtype == np.uint8 and len(packed) == quant.packed_bytes(5, 4) == 3
    # first code in the low bits, two's complement nibbles, zero padding
    assert packed.tolist() == [(1 & 15) | ((-2 & 15) << 4), (7 & 15) | ((-8 & 15) << 4), 3]
    np.testing.assert_array_equal(quant.unpack_codes(packed, 5, 4), codes)
    rng = np.random.default_rng(17)
    two = rng.integers(-2, 2, size=37).astype(np.int8)
    np.testing.assert_array_equal(quant.unpack_codes(quant.pack_codes(two, 2), 37, 2), two)
    with pytest.raises(qgrad.Error):
        quant.pack_codes(np.array([8], np.int8), 4)  # does not fit 4 bits
    idx = rng.integers(0, 8, size=11).astype(np.uint8)
    assert quant.storage_bits(3) == 4
    np.testing.assert_array_equal(quant.unpack_indices(quant.pack_indices(idx, 3), 11, 3), idx)


@pytest.mark.parametrize("method", ["kmeans", "pow2"])
def test_nonlinear_weights_through_prepare_and_convert(method):
    w = np.random.default_rng(18).normal(0, 0.1, size=(8, 12)).astype(np.float32)
    cb = quant.int_codebook(w, method, 4)
    assert len(cb.levels) == 16 and all(-127 <= v <= 127 for v in cb.levels)
    rec = cb.reconstruct().numpy()
    np.testing.assert_allclose(rec, cb.scale * cb.codes().numpy().astype(np.float32), rtol=1e-6)
    assert quant.sqnr_db(w, rec) > 10

    model = qgrad.nn.model("lenet5", seed=9)
    qc = quant.default_qconfig(model, weight_bits=4, weight_method=method)
    assert qc.for_module("3").weight_method == method and qc.for_module("0").weight_method == "linear"
    prepared = quant.freeze(quant.prepare(model, qc))
    quant.set_observe(prepared, True)
    quant.calibrate(prepared, [mnist_like(30, 19)])
    quant.freeze(prepared)
    im = quant.convert(prepared)
    assert any(f"weights={method}" in line for line in im.layers)
    x = mnist_like(16, 20)
    np.testing.assert_array_equal(run(prepared, x), run(im, x))


def test_prepare_python_subclasses_from_threads():
    # prepare/calibrate/convert release the GIL and the traced Python forward takes it back:
    # several threads doing so at once neither deadlock nor mix up their models
    from concurrent.futures import ThreadPoolExecutor

    def job(seed):
        net = TwoStage(seed)
        prepared = quant.prepare(net, example=mnist_like(2, seed))
        quant.calibrate(prepared, [mnist_like(20, seed)])
        im = quant.convert(quant.freeze(prepared))
        x = mnist_like(8, 21)
        return np.array_equal(run(prepared, x), run(im, x)), run(net, x)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(job, range(4)))
    assert all(same for same, _ in results)
    assert not np.array_equal(results[0][1], results[1][1])  # different seeds, different models
