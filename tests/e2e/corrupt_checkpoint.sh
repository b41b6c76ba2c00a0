#!/usr/bin/env bash
# End-to-end: a damaged checkpoint is refused with a message naming the file. A small MLP
# checkpoint is saved, then copies of it are damaged (cut in half; a header byte flipped; a
# header length past the end of the file; the file missing), and `evaluate` must exit with a
# non-zero status (not a crash: no signal), print nothing on stdout, and name the file on stderr.
#   usage: corrupt_checkpoint.sh path/to/mnist_mlp path/to/evaluate
source "$(dirname "$0")/e2e_lib.sh"
MNIST_MLP="$1"
EVALUATE="$2"
require_mnist_mirror

GOOD="$WORK/good.safetensors"
run_logged train "$MNIST_MLP" --data "$MNIST" --limit-train 640 --epochs 1 --threads 2 --save "$GOOD"
expect "mnist_mlp exits 0" test "$rc" -eq 0
run_logged good "$EVALUATE" --model "$GOOD" --data "$MNIST" --threads 2
expect "the intact checkpoint evaluates" test "$rc" -eq 0

size="$(stat -c %s "$GOOD")"
head -c $((size / 2)) "$GOOD" > "$WORK/truncated.safetensors"
cp "$GOOD" "$WORK/flipped.safetensors"
printf 'X' | dd of="$WORK/flipped.safetensors" bs=1 seek=8 conv=notrunc status=none  # the header's '{'
cp "$GOOD" "$WORK/long_header.safetensors"
printf '\xff\xff\xff\x00' | dd of="$WORK/long_header.safetensors" bs=1 seek=0 conv=notrunc status=none

for case in truncated flipped long_header missing; do
  file="$WORK/$case.safetensors"
  run_logged "$case" "$EVALUATE" --model "$file" --data "$MNIST" --threads 2
  expect "$case: evaluate exits non-zero" test "$rc" -ne 0
  expect "$case: evaluate exits cleanly, not by a signal (exit $rc)" test "$rc" -lt 128
  expect "$case: the message names the file" grep -qF "$file" "$WORK/$case.err"
  expect "$case: nothing is reported on stdout" test ! -s "$WORK/$case.out"
done
finish
