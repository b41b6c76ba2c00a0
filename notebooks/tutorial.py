"""What the notebooks share: finding the qgrad package and the data sets.

Each notebook starts with `import tutorial`. Run from a checkout after `make` (`make notebooks`
does it for you); the package is taken from build/python unless qgrad is already importable or
QGRAD_BUILD_DIR names another build folder.
"""
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent

try:
    import qgrad  # noqa: F401  (PYTHONPATH already has it: make notebooks, the tests)
except ImportError:
    sys.path.insert(0, str(pathlib.Path(os.environ.get("QGRAD_BUILD_DIR", REPO / "build")) / "python"))
    import qgrad  # noqa: F401


def data_dir(name):
    """data/<name> ('mnist' or 'cifar10') in the checkout, fetched on first use by
    scripts/fetch_data.sh exactly as `make data` does: files already there are kept, else they
    are copied from $QGRAD_DATA_MIRROR, else downloaded; every file is checked by SHA-256."""
    r = subprocess.run(["bash", str(REPO / "scripts" / "fetch_data.sh"), "--only", name],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"fetching {name} failed:\n{r.stdout}{r.stderr}")
    return REPO / "data" / name


def build_dir():
    """The build folder the qgrad package came from (it holds the example programs too)."""
    return pathlib.Path(qgrad.__file__).resolve().parents[2]


def trained_model(program, arch, flags, name):
    """A model trained by one of the example programs (build/examples/<program> <flags>),
    trained once and kept in data/tutorial/<name>.safetensors, then loaded into
    qgrad.nn.model(arch). The programs are deterministic for a given seed and thread count, so
    every notebook that asks for the same name gets the same weights."""
    path = REPO / "data" / "tutorial" / f"{name}.safetensors"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{name}.{os.getpid()}.safetensors")  # renamed once complete
        cmd = [str(build_dir() / "examples" / program), *flags, "--save", str(tmp)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
        tmp.replace(path)
    model = qgrad.nn.model(arch)
    qgrad.nn.load_checkpoint(str(path), model)
    return model


def trained_lenet5():
    """LeNet-5 trained on MNIST for 1 epoch (about 98% test accuracy; ~10 s on 2 cores)."""
    return trained_model("mnist_cnn", "lenet5",
                         ["--epochs", "1", "--data", str(data_dir("mnist")), "--seed", "0",
                          "--threads", "2"], "lenet5_1epoch")


def trained_mlp():
    """The MNIST MLP (784-256-128-10) trained for 1 epoch on 20,000 images (about 94% test
    accuracy; ~10 s on 2 cores)."""
    return trained_model("mnist_mlp", "mlp",
                         ["--epochs", "1", "--limit-train", "20000", "--data", str(data_dir("mnist")),
                          "--seed", "0", "--threads", "2"], "mlp_1epoch_20k")


def trained_cifar_cnn():
    """The VGG-style CIFAR-10 CNN after a SHORT schedule: 1 epoch on 5,000 training images (no
    warm-up), so accuracy is modest (~25-30%); about 110 s of CPU time (the program also evaluates
    all 10,000 test images), i.e. ~1 min on 2 idle cores."""
    return trained_model("cifar_cnn", "cifar_cnn",
                         ["--epochs", "1", "--warmup", "0", "--limit-train", "5000",
                          "--data", str(data_dir("cifar10")), "--seed", "0", "--threads", "2"],
                         "cifar_cnn_1epoch_5k")
