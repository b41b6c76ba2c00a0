#!/usr/bin/env bash
# `make bench-inference`: int8 against float inference of LeNet-5 and the CIFAR CNN at batch 1, 64
# and 256 with 1 and 2 threads, in qgrad (build/bench/bench_inference) and, where the `torch` Python
# module is importable, in PyTorch with its eager-mode static quantization
# (bench/pytorch_quantized.py); one table of images/s with the ratios qgrad int8 / qgrad float and
# qgrad int8 / PyTorch int8, written to bench/results/inference.json.
#
# Usage: bench/bench_inference.sh [--build DIR] [--data ROOT] [--lenet CKPT] [--cifar CKPT] [--json FILE]
#   --build DIR    qgrad's CMake build folder (default build)
#   --data ROOT    folder holding mnist/ and cifar10/ test images (default data/ when both are
#                  there, else random pixels: the speed does not depend on what the images show)
#   --lenet CKPT, --cifar CKPT   float checkpoints (default: freshly initialised weights)
#   --json FILE    the merged table (default bench/results/inference.json)
# QGRAD_TORCH_PYTHON names the Python to run PyTorch with; otherwise /usr/bin/python3 (where
# Debian's python3-torch installs) and then python3 on the PATH are tried. Both programs run with
# OMP_WAIT_POLICY=passive: spinning OpenMP waiters steal the cores of a loaded machine (see
# bench_pytorch.sh and the Makefile's bench-kernels).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$REPO/build"
DATA=""
LENET=""
CIFAR=""
JSON="$REPO/bench/results/inference.json"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --data) DATA="$2"; shift 2 ;;
    --lenet) LENET="$2"; shift 2 ;;
    --cifar) CIFAR="$2"; shift 2 ;;
    --json) JSON="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench_inference: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ ! -x "$BUILD/bench/bench_inference" ]]; then
  echo "bench_inference: $BUILD/bench/bench_inference not found; build first (make)" >&2
  exit 1
fi
if [[ -z "$DATA" && -f "$REPO/data/mnist/t10k-images-idx3-ubyte.gz" && -d "$REPO/data/cifar10" ]]; then
  DATA="$REPO/data"
fi
export OMP_WAIT_POLICY=passive

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
LOAD="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo "bench_inference: load average before the run: $LOAD ($(nproc) cores)"

QARGS=() PARGS=()
[[ -n "$DATA" ]] && QARGS+=(--data "$DATA") && PARGS+=(--data "$DATA")
[[ -n "$LENET" ]] && QARGS+=(--lenet "$LENET") && PARGS+=(--lenet "$LENET")
[[ -n "$CIFAR" ]] && QARGS+=(--cifar "$CIFAR") && PARGS+=(--cifar "$CIFAR")

echo "== qgrad"
"$BUILD/bench/bench_inference" "${QARGS[@]}" --json "$TMP/qgrad.json"

TORCH_PY=""
for py in ${QGRAD_TORCH_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c "import torch, numpy" >/dev/null 2>&1; then
    TORCH_PY="$py"
    break
  fi
done
TORCH_ARGS=()
NOTE="load average at the start: $LOAD (machine with $(nproc) cores; timings on a shared machine are noisy)"
if [[ -n "$TORCH_PY" ]]; then
  echo
  echo "== PyTorch ($TORCH_PY)"
  "$TORCH_PY" "$REPO/bench/pytorch_quantized.py" "${PARGS[@]}" --json "$TMP/pytorch.json"
  TORCH_ARGS=(--pytorch "$TMP/pytorch.json")
else
  echo
  echo "== PyTorch skipped: the torch module is not importable (tried ${QGRAD_TORCH_PYTHON:-} /usr/bin/python3 python3)."
  echo "   Install it with  sudo apt-get install python3-torch python3-numpy  (Debian/Ubuntu), or"
  echo "   pip install torch numpy, then QGRAD_TORCH_PYTHON=/path/to/that/python make bench-inference"
  NOTE="$NOTE; PyTorch columns missing: torch not importable"
fi

echo
python3 "$REPO/bench/inference_table.py" --qgrad "$TMP/qgrad.json" "${TORCH_ARGS[@]}" --note "$NOTE" --json "$JSON"
