#!/usr/bin/env bash
# `make bench-cifar`: the CIFAR CNN's float training (batch 128) and inference (batch 256) speed
# in qgrad and, where the `torch` Python module is importable, in PyTorch, with the same thread
# count; then one LeNet-5 MNIST epoch of qgrad on a quiet machine and beside one busy process.
# Prints a table and writes it as JSON.
#
# Usage: bench/bench_cifar.sh [--build DIR] [--data DIR] [--json FILE] [--threads N] [--rounds R]
#                             [--no-lenet]
#   --build DIR   qgrad's CMake build folder (default build)
#   --data DIR    MNIST .gz files for the LeNet part (default data/mnist)
#   --json FILE   where the table goes (default bench/results/cifar_cnn.json)
#   --threads N   threads for both frameworks (default 2)
#   --rounds R    rounds of the CIFAR measurement (default 3); the table shows each column's median
#   --no-lenet    skip the LeNet quiet/loaded epochs
# QGRAD_TORCH_PYTHON names the Python to run PyTorch with (else bench/torch_python.sh looks).
#
# Fair comparison on a shared machine: the frameworks run alternately inside each round (qgrad,
# PyTorch as installed, PyTorch with OMP_WAIT_POLICY=PASSIVE), so slow spells of other programs
# hit all columns alike, and the ratios come from the same round. The LeNet part alternates quiet
# and loaded epochs; "loaded" is one `while :; do :; done` shell pinned to the last CPU by taskset
# (where taskset exists), started before the epoch and killed after it. qgrad runs with no
# environment variables in every row.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$REPO/build"
DATA="$REPO/data/mnist"
JSON="$REPO/bench/results/cifar_cnn.json"
THREADS=2
ROUNDS=3
LENET=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --data) DATA="$2"; shift 2 ;;
    --json) JSON="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --no-lenet) LENET=0; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "bench_cifar: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [[ ! -x "$BUILD/bench/bench_cifar" ]]; then
  echo "bench_cifar: $BUILD/bench/bench_cifar not found; build first (make)" >&2
  exit 1
fi

TMP="$(mktemp -d)"
BUSY_PID=""
cleanup() {
  if [[ -n "$BUSY_PID" ]]; then kill "$BUSY_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
LOAD="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo "bench_cifar: load average before the run: $LOAD ($(nproc) cores)"

# shellcheck source=bench/torch_python.sh
source "$REPO/bench/torch_python.sh"
TORCH_PY="$(torch_python)"
if [[ -z "$TORCH_PY" ]]; then
  echo "bench_cifar: the torch module is not importable; PyTorch columns are skipped" \
       "(Debian: sudo apt-get install python3-torch)"
fi

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS"
  "$BUILD/bench/bench_cifar" --threads "$THREADS" | tee -a "$TMP/cifar.jsonl"
  if [[ -n "$TORCH_PY" ]]; then
    "$TORCH_PY" "$REPO/bench/pytorch_cifar.py" --threads "$THREADS" --setup default | tee -a "$TMP/cifar.jsonl"
    OMP_WAIT_POLICY=PASSIVE "$TORCH_PY" "$REPO/bench/pytorch_cifar.py" --threads "$THREADS" \
      --setup OMP_WAIT_POLICY=PASSIVE | tee -a "$TMP/cifar.jsonl"
  fi
done

if [[ "$LENET" == 1 ]]; then
  if [[ ! -x "$BUILD/examples/mnist_cnn" || ! -f "$DATA/train-images-idx3-ubyte.gz" ]]; then
    echo "bench_cifar: LeNet part skipped: needs $BUILD/examples/mnist_cnn and MNIST in $DATA"
  else
    PIN=()
    if command -v taskset >/dev/null 2>&1; then PIN=(taskset -c "$(( $(nproc) - 1 ))"); fi
    for setting in quiet loaded quiet loaded; do
      echo "== qgrad LeNet-5 epoch, $setting"
      if [[ "$setting" == loaded ]]; then
        "${PIN[@]}" sh -c 'while :; do :; done' &
        BUSY_PID=$!
      fi
      "$BUILD/examples/mnist_cnn" --data "$DATA" --epochs 1 --batch-size 64 --lr 0.05 --momentum 0.9 \
        --threads "$THREADS" --metrics-json "$TMP/lenet.json" 2>&1 | tr '\r' '\n' | grep -E '^epoch [0-9]+:|rror' || true
      if [[ -n "$BUSY_PID" ]]; then
        kill "$BUSY_PID"
        wait "$BUSY_PID" 2>/dev/null || true
        BUSY_PID=""
      fi
      python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(json.dumps({'lenet_epoch': sys.argv[2], 'seconds': m['epochs'][-1]['seconds']}))" \
        "$TMP/lenet.json" "$setting" >> "$TMP/lenet.jsonl"
    done
  fi
fi

python3 - "$TMP/cifar.jsonl" "$TMP/lenet.jsonl" "$JSON" "$LOAD" "$(nproc)" <<'PY'
import json, os, statistics, sys
cifar_path, lenet_path, out_path, load, cores = sys.argv[1:]
rows = [json.loads(l) for l in open(cifar_path) if l.startswith("{")]
groups = {}
for r in rows:
    key = (r["framework"], r.get("setup", "as is"))
    groups.setdefault(key, []).append(r)
table = []
for (framework, setup), rs in groups.items():
    table.append({"framework": framework, "setup": setup, "threads": rs[0]["threads"], "rounds": len(rs),
                  "train_samples_per_second": statistics.median(r["train_samples_per_second"] for r in rs),
                  "infer_images_per_second": statistics.median(r["infer_images_per_second"] for r in rs)})
# Ratios per round (same round = same machine state), then their median.
by_round = {}
for r in rows:
    by_round.setdefault(r["framework"] + "/" + r.get("setup", "as is"), []).append(r)
q = by_round.get("qgrad/as is", [])
for t in table:
    if t["framework"] != "pytorch":
        continue
    p = by_round[f"pytorch/{t['setup']}"]
    for what in ("train_samples_per_second", "infer_images_per_second"):
        ratios = [a[what] / b[what] for a, b in zip(q, p)]
        t["qgrad_over_pytorch_" + what.split("_")[0]] = statistics.median(ratios) if ratios else None
print(f"\nCIFAR CNN, float, {table[0]['threads'] if table else '?'} threads (median of rounds)")
print(f"{'framework':<10} {'setup':<26} {'train samples/s':>16} {'infer images/s':>15} {'qgrad/it train':>15} {'qgrad/it infer':>15}")
for t in table:
    rt = t.get("qgrad_over_pytorch_train"); ri = t.get("qgrad_over_pytorch_infer")
    print(f"{t['framework']:<10} {t['setup']:<26} {t['train_samples_per_second']:>16.1f} {t['infer_images_per_second']:>15.1f} "
          f"{(f'{rt:.2f}x' if rt else ''):>15} {(f'{ri:.2f}x' if ri else ''):>15}")
lenet = [json.loads(l) for l in open(lenet_path)] if os.path.exists(lenet_path) else []
summary = {}
if lenet:
    quiet = [r["seconds"] for r in lenet if r["lenet_epoch"] == "quiet"]
    loaded = [r["seconds"] for r in lenet if r["lenet_epoch"] == "loaded"]
    summary = {"quiet_seconds": quiet, "loaded_seconds": loaded,
               "loaded_over_quiet": statistics.median(loaded) / statistics.median(quiet)}
    print(f"\nqgrad LeNet-5 MNIST epoch: quiet {quiet} s, beside one busy process {loaded} s "
          f"(loaded/quiet {summary['loaded_over_quiet']:.2f}x)")
note = f"load average at the start: {load} ({cores} cores; timings on a shared machine are noisy)"
print(note)
os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
with open(out_path, "w") as f:
    json.dump({"cifar_cnn": table, "rounds": rows, "lenet_quiet_vs_loaded": summary, "note": note}, f, indent=2)
    f.write("\n")
print(f"table written to {out_path}")
PY
