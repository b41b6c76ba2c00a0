#!/usr/bin/env bash
# End-to-end: a damaged checkpoint is refused with a message naming the file. A small MLP
# checkpoint is saved, then copies of it are damaged (cut in half; a header byte flipped; a
# header length past the end of the file; one bit of a weight flipped, caught by the per-tensor
# CRC-32; the file missing), and `evaluate` must exit with a non-zero status (not a crash: no
# signal), print nothing on stdout, and name the file on stderr. The checkpoint also records the
# optimizer steps taken (qgrad.step: 640 images / batch 64 = 10).
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
step="$(python3 -c 'import json, struct, sys
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]
print(json.loads(b[8:8 + n])["__metadata__"]["qgrad.step"])' "$GOOD")"
expect "qgrad.step records the 10 optimizer steps (got $step)" test "$step" = 10

size="$(stat -c %s "$GOOD")"
head -c $((size / 2)) "$GOOD" > "$WORK/truncated.safetensors"
cp "$GOOD" "$WORK/flipped.safetensors"
printf 'X' | dd of="$WORK/flipped.safetensors" bs=1 seek=8 conv=notrunc status=none  # the header's '{'
cp "$GOOD" "$WORK/long_header.safetensors"
printf '\xff\xff\xff\x00' | dd of="$WORK/long_header.safetensors" bs=1 seek=0 conv=notrunc status=none
# The last byte belongs to the last tensor's data (optimizer.lr); one flipped bit leaves it finite.
python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; open(sys.argv[2], "wb").write(b)' \
  "$GOOD" "$WORK/data_bit.safetensors"

for case in truncated flipped long_header data_bit missing; do
  file="$WORK/$case.safetensors"
  run_logged "$case" "$EVALUATE" --model "$file" --data "$MNIST" --threads 2
  expect "$case: evaluate exits non-zero" test "$rc" -ne 0
  expect "$case: evaluate exits cleanly, not by a signal (exit $rc)" test "$rc" -lt 128
  expect "$case: the message names the file" grep -qF "$file" "$WORK/$case.err"
  expect "$case: nothing is reported on stdout" test ! -s "$WORK/$case.out"
done
expect "data_bit: the message names the corrupted tensor" grep -q "tensor '.*' is corrupted: CRC-32" "$WORK/data_bit.err"
finish
