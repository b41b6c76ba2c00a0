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
# QGRAD_TORCH_PYTHON names the Python to run PyTorch with (else bench/torch_python.sh looks).
#
# PyTorch runs twice: as-is with torch.set_num_threads(N) ("default"), and with
# OMP_WAIT_POLICY=PASSIVE ("passive"), which makes its idle OpenMP threads sleep instead of spin.
# On a small machine shared with other busy programs the spinning threads take the cores the
# working ones need; measured here (2 cores, load ~5) that one setting made PyTorch's epoch 10-40x
# faster, and adding OPENBLAS_NUM_THREADS=1 or one inter-op thread on top changed nothing
# beyond noise. qgrad runs as-is (its README explains the same setting).
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
LOAD="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo "bench_pytorch: load average before the run: $LOAD"

run_qgrad() {  # program model
  echo "== qgrad $2"
  "$BUILD/examples/$1" --data "$DATA" --epochs 1 --batch-size 64 --lr 0.05 --momentum 0.9 \
    --threads "$THREADS" --metrics-json "$TMP/qgrad_$2.json" | grep -E '^(epoch [0-9]+:|final:)'
}
run_qgrad mnist_mlp mlp
run_qgrad mnist_cnn lenet5

# shellcheck source=bench/torch_python.sh
source "$REPO/bench/torch_python.sh"
TORCH_PY="$(torch_python)"

PYTORCH_ROWS=()
NOTE=""
if [[ -n "$TORCH_PY" ]]; then
  echo "== PyTorch ($TORCH_PY), default set-up"
  "$TORCH_PY" "$REPO/bench/pytorch_mnist.py" --data "$DATA" --threads "$THREADS" --setup default \
    | tee "$TMP/pytorch_default.jsonl"
  echo "== PyTorch ($TORCH_PY), OMP_WAIT_POLICY=PASSIVE"
  OMP_WAIT_POLICY=PASSIVE "$TORCH_PY" "$REPO/bench/pytorch_mnist.py" --data "$DATA" --threads "$THREADS" \
    --setup "OMP_WAIT_POLICY=PASSIVE" | tee "$TMP/pytorch_passive.jsonl"
  PYTORCH_ROWS=(--pytorch "$TMP/pytorch_default.jsonl" --pytorch "$TMP/pytorch_passive.jsonl")
  NOTE="load average at the start: $LOAD (machine with $(nproc) cores; timings on a shared machine are noisy)"
else
  NOTE="load average at the start: $LOAD
PyTorch rows missing: the torch module is not importable. Install it with
  sudo apt-get install python3-torch python3-numpy   (Debian/Ubuntu; it installs for /usr/bin/python3,
  not for a pyenv or venv python, and this script tries /usr/bin/python3 first)
or: pip install torch numpy, then QGRAD_TORCH_PYTHON=/path/to/that/python make bench-pytorch"
fi

echo
python3 "$REPO/bench/bench_table.py" --qgrad "mlp=$TMP/qgrad_mlp.json" --qgrad "lenet5=$TMP/qgrad_lenet5.json" \
  "${PYTORCH_ROWS[@]}" --note "$NOTE" --json "$JSON"
