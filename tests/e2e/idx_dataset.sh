#!/usr/bin/env bash
# End-to-end: an IDX data set other than MNIST (Fashion-MNIST, KMNIST, ... share its file names
# and format) is named by its folder and normalized by its own training images' statistics, not
# MNIST's. The stand-in: a 2,000/500-image MNIST subset with every pixel inverted (p -> 255 - p,
# so its mean is about 1 - 0.1307 while its std stays about 0.3081), in a folder named
# "inverted-mnist". mnist_mlp must report training on "inverted-mnist"; the integer model ptq
# writes must record the subset's own mean/std (computed here independently); evaluate must
# name the data set.
#   usage: idx_dataset.sh path/to/mnist_mlp path/to/ptq path/to/evaluate
source "$(dirname "$0")/e2e_lib.sh"
MNIST_MLP="$1"
PTQ="$2"
EVALUATE="$3"
require_mnist_mirror

DATA="$WORK/inverted-mnist"
mkdir -p "$DATA"
# Writes the inverted subset and prints its training images' mean and std (population, pixels / 255).
stats="$(python3 - "$MNIST" "$DATA" <<'PY'
import gzip, math, struct, sys
src, dst = sys.argv[1], sys.argv[2]
def subset(prefix, n):
    images = gzip.open(f"{src}/{prefix}-images-idx3-ubyte.gz").read()
    labels = gzip.open(f"{src}/{prefix}-labels-idx1-ubyte.gz").read()
    rows, cols = struct.unpack(">II", images[8:16])
    pixels = bytes(255 - p for p in images[16:16 + n * rows * cols])
    open(f"{dst}/{prefix}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 2051, n, rows, cols) + pixels)
    open(f"{dst}/{prefix}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 2049, n) + labels[8:8 + n])
    return pixels
train = subset("train", 2000)
subset("t10k", 500)
count = [0] * 256
for p in train: count[p] += 1
n = len(train)
mean = sum(v / 255 * k for v, k in enumerate(count)) / n
var = sum((v / 255) ** 2 * k for v, k in enumerate(count)) / n - mean * mean
print(f"{mean:.6f} {math.sqrt(var):.6f}")
PY
)"
read -r want_mean want_std <<<"$stats"
echo "inverted subset: mean $want_mean, std $want_std"

CKPT="$WORK/inverted.safetensors"
INT="$WORK/inverted_int8.safetensors"
run_logged train "$MNIST_MLP" --data "$DATA" --epochs 1 --threads 2 --save "$CKPT"
expect "mnist_mlp exits 0" test "$rc" -eq 0
expect "mnist_mlp names the data set by its folder" grep -q "^mlp on inverted-mnist: 2000 train / 500 test images" "$WORK/train.out"
expect "mnist_mlp does not call it MNIST" bash -c "! grep -q 'on MNIST' '$WORK/train.out'"
run_logged ptq "$PTQ" --model "$CKPT" --data "$DATA" --calib-samples 200 --threads 2 --save "$INT"
expect "ptq exits 0" test "$rc" -eq 0
expect "ptq names the data set" grep -q "calibrated on 200 inverted-mnist images" "$WORK/ptq.out"
got="$(python3 -c 'import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]
m = json.loads(b[8:8 + n])["__metadata__"]
print(m["qgrad.input_mean"], m["qgrad.input_std"])' "$INT")"
read -r got_mean got_std <<<"$got"
echo "the integer model records: mean $got_mean, std $got_std"
close() { python3 -c 'import sys; sys.exit(abs(float(sys.argv[1]) - float(sys.argv[2])) > 1e-5)' "$1" "$2"; }
expect "the recorded mean is the subset's own ($got_mean vs $want_mean), not MNIST's 0.1307" close "$got_mean" "$want_mean"
expect "the recorded std is the subset's own ($got_std vs $want_std)" close "$got_std" "$want_std"
run_logged evaluate "$EVALUATE" --model "$CKPT" --data "$DATA" --threads 2
expect "evaluate exits 0" test "$rc" -eq 0
expect "evaluate names the data set" grep -q "on 500 inverted-mnist test images" "$WORK/evaluate.out"
# One epoch on 2,000 images: learnt far above chance (10%).
acc="$(sed -n 's/.*accuracy \([0-9.]*\)%.*/\1/p' "$WORK/evaluate.out" | head -1)"
expect "evaluate accuracy $acc% is above 60%" python3 -c "import sys; sys.exit(not float('$acc') > 60)"
finish
