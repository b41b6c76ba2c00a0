"""Checkpoints between the C++ programs and Python: mnist_cnn trains and saves, Python loads the
file into the zoo's LeNet-5 and gets the program's test accuracy; Python trains further, saves,
and the `evaluate` program reports the accuracy Python computed. Needs real MNIST
($QGRAD_DATA_MIRROR, else data/ from `make data`) and the example programs ($QGRAD_BUILD_DIR/examples), else skipped."""
import os
import re
import subprocess

import numpy as np
import pytest

import mnist_data
import qgrad
from qgrad import data, nn

MEAN, STD = 0.1307, 0.3081


@pytest.fixture(scope="module")
def env():
    mnist, build = mnist_data.mnist_dir(), os.environ.get("QGRAD_BUILD_DIR")
    if mnist is None:
        pytest.skip(mnist_data.SKIP_REASON)
    if not build or not os.access(os.path.join(build, "examples", "mnist_cnn"), os.X_OK):
        pytest.skip("QGRAD_BUILD_DIR/examples/mnist_cnn not found (set QGRAD_BUILD_DIR to the build folder)")
    return str(mnist), os.path.join(build, "examples")


def run(program, *args):
    out = subprocess.run([program, *args, "--threads", "2"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_accuracy(model, loader):
    model.eval()
    correct = total = 0
    with qgrad.no_grad():
        for x, y in loader:
            pred = qgrad.argmax(model(x), 1).numpy()
            correct += int((pred == y.numpy()).sum())
            total += len(pred)
    return 100.0 * correct / total


test_accuracy.__test__ = False  # a helper, not a test


def test_cpp_to_python_to_cpp(env, tmp_path):
    mnist, examples = env
    cpp_file = str(tmp_path / "cpp.safetensors")
    out = run(os.path.join(examples, "mnist_cnn"), "--epochs", "1", "--limit-train", "6000", "--lr", "0.05",
              "--data", mnist, "--save", cpp_file)
    cpp_acc = float(re.search(r"final: lenet5 test accuracy ([\d.]+)%", out).group(1))

    test_set = data.MNIST(mnist, train=False)
    test_loader = data.DataLoader(test_set, batch_size=500, mean=MEAN, std=STD)
    model = nn.model("lenet5", seed=123)  # other initial weights than the program's
    ckpt = nn.load_checkpoint(cpp_file, model)
    assert ckpt["epoch"] == 1 and ckpt["metadata"]["arch"] == "lenet5" and "0.momentum_buffer" in ckpt["optimizer"]
    py_acc = test_accuracy(model, test_loader)
    assert py_acc > 80.0
    assert abs(py_acc - cpp_acc) < 0.006, (py_acc, cpp_acc)  # the program prints 2 decimals

    # The plain safetensors reader sees the same weights.
    tensors, metadata = nn.load_safetensors(cpp_file)
    np.testing.assert_array_equal(tensors["0.weight"].numpy(), model.state_dict()["0.weight"].numpy())
    assert metadata["qgrad.epoch"] == "1"

    # Train a little further in Python, so the file evaluate reads is Python's own.
    train_loader = data.DataLoader(data.MNIST(mnist, train=True).evenly_spaced(640), batch_size=64,
                                   shuffle=True, seed=1, mean=MEAN, std=STD)
    opt = qgrad.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    nn.load_checkpoint(cpp_file, model, opt)  # resume the program's optimizer state too
    assert opt.lr == 0.0  # the program's cosine schedule ends its last epoch at 0
    opt.lr = 0.01
    model.train()
    before = model.state_dict()["0.weight"].numpy().copy()
    for x, y in train_loader:
        loss = qgrad.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert not np.array_equal(before, model.state_dict()["0.weight"].numpy())
    py_acc = test_accuracy(model, test_loader)

    py_file = str(tmp_path / "py.safetensors")
    nn.save_checkpoint(py_file, model, opt, epoch=2, step=10, metadata={"arch": "lenet5", "note": "python"})
    back = nn.read_checkpoint(py_file)
    assert back["epoch"] == 2 and back["step"] == 10 and back["metadata"]["note"] == "python"
    assert set(back["optimizer"]) == set(opt.state_dict())
    out = run(os.path.join(examples, "evaluate"), "--model", py_file, "--data", mnist)
    eval_acc = float(re.search(r"accuracy ([\d.]+)%", out).group(1))
    assert abs(eval_acc - py_acc) < 0.006, (eval_acc, py_acc)

    with pytest.raises(qgrad.Error):
        nn.save_checkpoint(py_file, model, metadata={"qgrad.epoch": "3"})  # reserved key
    with pytest.raises(qgrad.Error):
        nn.load_checkpoint(str(tmp_path / "missing.safetensors"), model)
    with pytest.raises(qgrad.Error):
        nn.load_checkpoint(py_file, nn.model("mlp"))
