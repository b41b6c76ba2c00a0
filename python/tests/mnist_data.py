"""Where the Python tests find real MNIST (a helper module, not a test file): the .gz files in
$QGRAD_DATA_MIRROR/mnist when that variable is set, else in the repository's data/mnist (where
`make data` and `make demo` put them)."""
import os
from pathlib import Path

SKIP_REASON = "no MNIST (run make data or set QGRAD_DATA_MIRROR)"


def mnist_dir():
    """The folder holding MNIST's .gz files, or None when there is none."""
    root = os.environ.get("QGRAD_DATA_MIRROR") or str(Path(__file__).resolve().parents[2] / "data")
    folder = Path(root) / "mnist"
    return folder if (folder / "t10k-labels-idx1-ubyte.gz").exists() else None
