#!/usr/bin/env bash
# End-to-end: a saved integer model is usable on its own. mnist_cnn trains LeNet-5 briefly, ptq
# quantizes it (4-bit weights, first and last layer at 8 bits, so the file holds packed and
# unpacked weights) and saves the integer model; `evaluate --model` must detect the integer model
# from its metadata and report exactly the integer-model accuracy ptq measured, feeding the images
# by the input preprocessing the file records (qgrad.input_*), and the file must be well under the
# float checkpoint's size.
#   usage: int_model_evaluate.sh path/to/mnist_cnn path/to/ptq path/to/evaluate
source "$(dirname "$0")/e2e_lib.sh"
MNIST_CNN="$1"
PTQ="$2"
EVALUATE="$3"
require_mnist_mirror

run_logged train "$MNIST_CNN" --data "$MNIST" --limit-train 3000 --epochs 1 --threads 2 \
  --save "$WORK/lenet5.safetensors"
expect "mnist_cnn exits 0" test "$rc" -eq 0
run_logged ptq "$PTQ" --model "$WORK/lenet5.safetensors" --data "$MNIST" --bits 4 --calib-samples 500 \
  --threads 2 --save "$WORK/lenet5_w4.safetensors" --metrics-json "$WORK/ptq.json"
expect "ptq exits 0" test "$rc" -eq 0
expect "ptq saved the integer model" test -s "$WORK/lenet5_w4.safetensors"
run_logged eval "$EVALUATE" --model "$WORK/lenet5_w4.safetensors" --data "$MNIST" --threads 2 \
  --metrics-json "$WORK/eval.json"
expect "evaluate exits 0 on the integer model" test "$rc" -eq 0

ptq_acc="$(json_get "$WORK/ptq.json" int_test_accuracy)"
eval_acc="$(json_get "$WORK/eval.json" test_accuracy)"
echo "ptq integer model: $ptq_acc; evaluate: $eval_acc"
expect "evaluate's accuracy equals ptq's integer-model accuracy" test "$ptq_acc" = "$eval_acc"
expect "evaluate says it ran the integer model" grep -q "(lenet5, integer model)" "$WORK/eval.out"
expect "evaluate used the file's input spec" \
  grep -qF "input preprocessing from the file: 1x28x28 NCHW uint8/255, mean 0.13066047, std 0.3081078" "$WORK/eval.out"
expect "the file header records the input spec" python3 - "$WORK/lenet5_w4.safetensors" <<'PY'
import json, struct, sys
f = open(sys.argv[1], "rb")
meta = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))["__metadata__"]
assert (meta["qgrad.input_shape"], meta["qgrad.input_layout"], meta["qgrad.input_pixel_max"],
        meta["qgrad.input_mean"], meta["qgrad.input_std"]) == ("1 28 28", "NCHW", "255", "0.13066047", "0.3081078"), meta
PY
printed="$(grep -o 'accuracy [0-9.]*%' "$WORK/eval.out" | head -1 | sed 's/^accuracy //')"
expect "the printed accuracy is ptq's ($printed)" grep -q "integer model accuracy *$printed" "$WORK/ptq.out"
float_bytes="$(json_get "$WORK/ptq.json" float_file_bytes)"
int_bytes="$(json_get "$WORK/ptq.json" quantized_file_bytes)"
echo "file bytes: float $float_bytes, integer (4-bit packed) $int_bytes"
expect "the 4-bit file is at most 0.15x the float checkpoint" \
  python3 -c "import sys; sys.exit(0 if $int_bytes <= 0.15 * $float_bytes else 1)"
finish
