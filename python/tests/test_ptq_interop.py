"""The Python pipeline reproduces the `ptq` program bit for bit.

A LeNet-5 checkpoint is trained briefly (1 epoch on 2000 images, about 85% test accuracy) with the C++ `mnist_cnn` program and quantized with
`ptq` (8 bits, 300 random calibration images); then the same checkpoint is quantized in Python:
loaded into qgrad.nn.model('lenet5') from a NumPy safetensors read, calibrated on the same
training images in the same order, batches and normalization as ptq's calibrate()
(examples/common/quantization.cpp: calibration_indices -> sample_subset -> DataLoader of 250,
normalized by the training images' own mean / std as datasets/dataset.cpp channel_statistics
computes them, eval mode, no graph), converted and saved with the metadata ptq
writes. The two files must hold byte-equal tensors and identical metadata (hence identical
files).

Needs QGRAD_BUILD_DIR (the examples built) and real MNIST (QGRAD_DATA_MIRROR, else data/ from
`make data`); skipped otherwise.
"""
import gzip
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import mnist_data
import qgrad
from qgrad import quant

BUILD = os.environ.get("QGRAD_BUILD_DIR")
MNIST = mnist_data.mnist_dir()


def _missing():
    if MNIST is None:
        return mnist_data.SKIP_REASON
    if not BUILD:
        return "QGRAD_BUILD_DIR must be set"
    for prog in ("mnist_cnn", "ptq"):
        if not (Path(BUILD) / "examples" / prog).exists():
            return f"{BUILD}/examples/{prog} is not built"
    if not (MNIST / "train-images-idx3-ubyte.gz").exists() and not (MNIST / "train-images-idx3-ubyte").exists():
        return f"no MNIST training images in {MNIST}"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))

CALIB_SAMPLES, SEED, CALIB_BATCH = 300, 5, 250


# --- file readers (NumPy only) -----------------------------------------------------------------

DTYPES = {"F32": np.float32, "I32": np.int32, "I8": np.int8, "U8": np.uint8, "I64": np.int64, "F64": np.float64}


def read_safetensors(path):
    """{name: array}, metadata: the safetensors layout (8-byte header size, JSON header, data)."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        lo, hi = info["data_offsets"]
        tensors[name] = np.frombuffer(data[lo:hi], dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).copy()
    return tensors, meta


def read_idx_images(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    assert magic == 2051
    return np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, rows, cols).copy()


def training_statistics(images):
    """Mean and population std of pixels / 255 as float32, by channel_statistics' arithmetic
    (exact byte counts, then the double sums in the order of the byte values), so the floats are
    the ones ptq uses, bit for bit."""
    count = np.bincount(images.ravel(), minlength=256)
    total, s, sq = float(images.size), 0.0, 0.0
    for v in range(256):
        x, k = v / 255.0, float(count[v])
        s += k * x
        sq += k * x * x
    mean = s / total
    return float(np.float32(mean)), float(np.float32((max(0.0, sq / total - mean * mean)) ** 0.5))


def read_idx_labels(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic, n = struct.unpack(">II", raw[:8])
    assert magic == 2049
    return np.frombuffer(raw, np.uint8, offset=8)[:n].astype(np.int32)


def mnist_file(name):
    plain = MNIST / name
    return plain if plain.exists() else MNIST / (name + ".gz")


# --- the C++ side --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("ptq_interop")
    ckpt = d / "lenet5.safetensors"
    env = dict(os.environ, QGRAD_NUM_THREADS=os.environ.get("QGRAD_NUM_THREADS", "2"))
    subprocess.run([str(Path(BUILD) / "examples" / "mnist_cnn"), "--data", str(MNIST), "--epochs", "1",
                    "--limit-train", "2000", "--batch-size", "16", "--seed", "1", "--save", str(ckpt)],
                   check=True, env=env, capture_output=True, text=True)
    cpp_int = d / "ptq_int8.safetensors"
    out = subprocess.run([str(Path(BUILD) / "examples" / "ptq"), "--model", str(ckpt), "--data", str(MNIST),
                          "--bits", "8", "--calib-samples", str(CALIB_SAMPLES), "--sampling", "random",
                          "--seed", str(SEED), "--save", str(cpp_int)],
                         check=True, env=env, capture_output=True, text=True)
    assert f"calibrated on {CALIB_SAMPLES}" in out.stdout
    return d, ckpt, cpp_int


def python_ptq(ckpt, save_to):
    """ptq's steps, in Python."""
    tensors, meta = read_safetensors(ckpt)
    assert meta["arch"] == "lenet5"
    model = qgrad.nn.model("lenet5", seed=0)
    names = {name for name, _ in model.named_parameters()} | {name for name, _ in model.named_buffers()}
    model.load_state_dict({name: tensors[name] for name in names})

    train = read_idx_images(mnist_file("train-images-idx3-ubyte"))
    sampling = quant.Sampling("random", count=CALIB_SAMPLES, seed=SEED)
    idx = quant.calibration_indices(sampling, len(train))
    subset = np.ascontiguousarray(train[idx])
    mean, std = training_statistics(train)
    spec = quant.InputSpec((1, 28, 28), [mean], [std])

    prepared = quant.prepare(model, quant.default_qconfig(model))  # ptq's flag defaults
    prepared.eval()
    with qgrad.no_grad():
        for start in range(0, len(subset), CALIB_BATCH):
            prepared(quant.normalize_pixels(spec, subset[start:start + CALIB_BATCH]))
    quant.set_observe(prepared, False)
    quant.set_fake_quant(prepared, True)
    im = quant.convert(prepared)
    im.input_spec = spec
    im.save(save_to, metadata={
        "arch": "lenet5", "float_model": str(ckpt),
        "qconfig.bits": "8", "qconfig.act-bits": "0", "qconfig.scheme": "sym", "qconfig.granularity": "channel",
        "qconfig.weight-method": "linear", "qconfig.observer": "minmax", "qconfig.keep-ends": "1"})
    return model, prepared, im


def test_python_ptq_writes_the_same_file_as_the_ptq_program(work):
    d, ckpt, cpp_int = work
    py_int = d / "python_int8.safetensors"
    model, prepared, im = python_ptq(ckpt, py_int)

    cpp_t, cpp_meta = read_safetensors(cpp_int)
    py_t, py_meta = read_safetensors(py_int)
    assert sorted(py_t) == sorted(cpp_t) and len(cpp_t) > 10
    for name in cpp_t:
        assert py_t[name].dtype == cpp_t[name].dtype and py_t[name].shape == cpp_t[name].shape, name
        assert py_t[name].tobytes() == cpp_t[name].tobytes(), f"tensor {name} differs"
    assert py_meta["qgrad.int_layers"].splitlines() == cpp_meta["qgrad.int_layers"].splitlines()
    assert py_meta == cpp_meta
    assert py_int.read_bytes() == cpp_int.read_bytes()

    # and the two models compute the same on test images (through the file's own input spec)
    test = read_idx_images(mnist_file("t10k-images-idx3-ubyte"))[:500]
    cpp_model = quant.load_int_model(cpp_int)
    codes_cpp, labels_cpp = cpp_model.predict_pixels(test)
    codes_py, labels_py = im.predict_pixels(test)
    np.testing.assert_array_equal(codes_py.numpy(), codes_cpp.numpy())
    np.testing.assert_array_equal(labels_py, labels_cpp)
    # the checkpoint learned something, and the fake-quant model predicts what the integer one does
    x = quant.normalize_pixels(cpp_model.input_spec, test)
    with qgrad.no_grad():
        fq = prepared(x).numpy()
    assert np.mean(fq.argmax(1) == labels_py) == 1.0
    truth = read_idx_labels(mnist_file("t10k-labels-idx1-ubyte"))[:500]
    assert np.mean(labels_py == truth) > 0.8
