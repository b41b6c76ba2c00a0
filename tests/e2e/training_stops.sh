#!/usr/bin/env bash
# End-to-end: training and evaluation stop with an error, instead of reporting numbers about
# nothing, when
#   - the run diverges (--lr 1e6): it used to print "loss -nan", exit 0 and --save NaN weights
#     over a good checkpoint; now it stops at the first non-finite loss or gradient, naming the
#     step, and the checkpoint stays as it was;
#   - --resume names a checkpoint already trained for --epochs: it used to print "0.00% after 0
#     epoch(s), saved to B", exit 0, write no B and a metrics JSON with accuracy 0;
#   - the test set is empty (an MNIST folder whose t10k files hold 0 images): it used to report
#     a test accuracy of 0.00%.
#   usage: training_stops.sh path/to/mnist_mlp path/to/evaluate
source "$(dirname "$0")/e2e_lib.sh"
MNIST_MLP="$1"
EVALUATE="$2"
require_mnist_mirror
COMMON=(--limit-train 256 --threads 2 --seed 1)

run_logged good "$MNIST_MLP" --data "$MNIST" "${COMMON[@]}" --epochs 1 --save "$WORK/A.safetensors"
expect "the first run exits 0" test "$rc" -eq 0
cp "$WORK/A.safetensors" "$WORK/A.copy"

run_logged diverged "$MNIST_MLP" --data "$MNIST" "${COMMON[@]}" --batch-size 16 --lr 1e6 --resume "$WORK/A.safetensors" \
  --epochs 2 --save "$WORK/A.safetensors" --metrics-json "$WORK/diverged.json"
expect "diverged: exits 1" test "$rc" -eq 1
expect "diverged: stderr names the step" grep -qE "epoch 2 step [0-9]+: (the loss is|the gradient of)" "$WORK/diverged.err"
expect "diverged: stderr says the training diverged" grep -q "the training diverged: lower --lr" "$WORK/diverged.err"
expect "diverged: no epoch line was printed" test "$(grep -c '^epoch [0-9]*:' "$WORK/diverged.out")" = 0
expect "diverged: the good checkpoint is unchanged" cmp "$WORK/A.safetensors" "$WORK/A.copy"
expect "diverged: no metrics JSON" test ! -e "$WORK/diverged.json"

run_logged resumed_done "$MNIST_MLP" --data "$MNIST" "${COMMON[@]}" --epochs 1 --resume "$WORK/A.safetensors" \
  --save "$WORK/B.safetensors" --metrics-json "$WORK/resumed.json"
expect "resumed_done: exits 1" test "$rc" -eq 1
expect "resumed_done: stderr says there is nothing to train" \
  grep -q "A.safetensors was saved after epoch 1 and --epochs is 1: nothing to train" "$WORK/resumed_done.err"
expect "resumed_done: claims no save" bash -c '! grep -q "saved to" "$1"' _ "$WORK/resumed_done.out"
expect "resumed_done: writes no B" test ! -e "$WORK/B.safetensors"
expect "resumed_done: writes no metrics JSON" test ! -e "$WORK/resumed.json"

# An MNIST folder whose test files hold no images (valid headers, count 0).
mkdir -p "$WORK/empty_test"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do ln -s "$MNIST/$f.gz" "$WORK/empty_test/$f.gz"; done
python3 - "$WORK/empty_test" <<'PY'
import gzip, struct, sys
with gzip.open(sys.argv[1] + "/t10k-images-idx3-ubyte.gz", "wb") as f: f.write(struct.pack(">IIII", 2051, 0, 28, 28))
with gzip.open(sys.argv[1] + "/t10k-labels-idx1-ubyte.gz", "wb") as f: f.write(struct.pack(">II", 2049, 0))
PY
run_logged empty_test "$MNIST_MLP" --data "$WORK/empty_test" "${COMMON[@]}" --epochs 1 --metrics-json "$WORK/empty.json"
expect "empty_test: training exits 1" test "$rc" -eq 1
expect "empty_test: stderr says the test set is empty" grep -q "the test set is empty" "$WORK/empty_test.err"
expect "empty_test: reports no accuracy" bash -c '! grep -q "test acc" "$1"' _ "$WORK/empty_test.out"
run_logged empty_eval "$EVALUATE" --model "$WORK/A.safetensors" --data "$WORK/empty_test" --threads 2
expect "empty_eval: evaluate exits 1" test "$rc" -eq 1
expect "empty_eval: stderr says the test set is empty" grep -q "the test set is empty" "$WORK/empty_eval.err"
finish
