#!/usr/bin/env bash
# `make bench-pytorch`: one epoch of the MLP and of LeNet-5 on MNIST in qgrad and, where the
# `torch` Python module is importable, in PyTorch, with the same recipe (batch 64, SGD momentum
# 0.9, lr 0.05, default init, mean 0.1307 / std 0.3081, 2 threads); prints a table of epoch
# seconds, samples/s, test accuracy and qgrad/PyTorch samples/s, and writes it as JSON.
#
# Usage: bench/bench_pytorch.sh [--build DIR] [--data DIR] [--json FILE] [--threads N]
#   --build DIR    qgrad's CMake build folder (default build)
#   --data DIR     MNIST .gz files (default data/mnist, fetched by scripts/fetch_data.sh if missing)
#   --json FILE    where the table goes (default bench/results/pytorch_mnist.json)
#   --threads N    threads for both frameworks (default 2)
# QGRAD_TORCH_PYTHON names the Python to run PyTorch with; otherwise /usr/bin/python3 (where
# Debian's python3-torch installs) and then python3 on the PATH are tried.
#
# PyTorch runs twice: as-is with torch.set_num_threads(N) ("default"), and with the settings
# PyTorch's CPU performance notes recommend on a small machine ("tuned"): one inter-op thread,
# OMP_NUM_THREADS=N, passive OpenMP waiting and a single-threaded BLAS underneath, so that no
# two thread pools compete for the same cores.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$REPO/build"
DATA="$REPO/data/mnist"
JSON="$REPO/bench/results/pytorch_mnist.json"
THREADS=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --data) DATA="$2"; shift 2 ;;
    --json) JSON="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench_pytorch: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

for program in mnist_mlp mnist_cnn; do
  if [[ ! -x "$BUILD/examples/$program" ]]; then
    echo "bench_pytorch: $BUILD/examples/$program not found; build first (make)" >&2
    exit 1
  fi
done
if [[ ! -f "$DATA/train-images-idx3-ubyte.gz" ]]; then
  if [[ "$DATA" == "$REPO/data/mnist" ]]; then
    bash "$REPO/scripts/fetch_data.sh" --only mnist
  else
    echo "bench_pytorch: no MNIST in $DATA (expected train-images-idx3-ubyte.gz etc.)" >&2
    exit 1
  fi
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "bench_pytorch: load average before the run: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"

run_qgrad() {  # program model
  echo "== qgrad $2"
  "$BUILD/examples/$1" --data "$DATA" --epochs 1 --batch-size 64 --lr 0.05 --momentum 0.9 \
    --threads "$THREADS" --metrics-json "$TMP/qgrad_$2.json" | grep -E '^(epoch [0-9]+:|final:)'
}
run_qgrad mnist_mlp mlp
run_qgrad mnist_cnn lenet5

TORCH_PY=""
for py in ${QGRAD_TORCH_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c "import torch, numpy" >/dev/null 2>&1; then
    TORCH_PY="$py"
    break
  fi
done

PYTORCH_ROWS=()
NOTE=""
if [[ -n "$TORCH_PY" ]]; then
  echo "== PyTorch ($TORCH_PY), default set-up"
  "$TORCH_PY" "$REPO/bench/pytorch_mnist.py" --data "$DATA" --threads "$THREADS" --setup default \
    | tee "$TMP/pytorch_default.jsonl"
  echo "== PyTorch ($TORCH_PY), tuned set-up"
  OMP_NUM_THREADS="$THREADS" OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    "$TORCH_PY" "$REPO/bench/pytorch_mnist.py" --data "$DATA" --threads "$THREADS" --interop-threads 1 \
    --setup "tuned" | tee "$TMP/pytorch_tuned.jsonl"
  PYTORCH_ROWS=(--pytorch "$TMP/pytorch_default.jsonl" --pytorch "$TMP/pytorch_tuned.jsonl")
  NOTE="tuned: 1 inter-op thread, OMP_NUM_THREADS=$THREADS, OMP_WAIT_POLICY=PASSIVE, OPENBLAS_NUM_THREADS=1"
else
  NOTE="PyTorch rows missing: the torch module is not importable. Install it with
  sudo apt-get install python3-torch python3-numpy   (Debian/Ubuntu; it installs for /usr/bin/python3,
  not for a pyenv or venv python, and this script tries /usr/bin/python3 first)
or: pip install torch numpy, then QGRAD_TORCH_PYTHON=/path/to/that/python make bench-pytorch"
fi

echo
python3 "$REPO/bench/bench_table.py" --qgrad "mlp=$TMP/qgrad_mlp.json" --qgrad "lenet5=$TMP/qgrad_lenet5.json" \
  "${PYTORCH_ROWS[@]}" --note "$NOTE" --json "$JSON"
