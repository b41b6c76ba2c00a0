#!/usr/bin/env bash
# End-to-end: inspect reads what ptq saved. mnist_cnn trains LeNet-5 briefly, ptq saves the
# 8-bit integer model (its metadata names the float checkpoint), inspect prints the input
# preprocessing the file records and one row per layer
# with bits, granularity, scale ranges, bytes and — from the float checkpoint it finds on its own —
# weight SQNR; with --data it histograms activations, and both JSON files must parse and add up.
#   usage: inspect.sh path/to/mnist_cnn path/to/ptq path/to/inspect
source "$(dirname "$0")/e2e_lib.sh"
MNIST_CNN="$1"
PTQ="$2"
INSPECT="$3"
require_mnist_mirror

run_logged train "$MNIST_CNN" --data "$MNIST" --limit-train 3000 --epochs 1 --threads 2 \
  --save "$WORK/lenet5.safetensors"
expect "mnist_cnn exits 0" test "$rc" -eq 0
run_logged ptq "$PTQ" --model "$WORK/lenet5.safetensors" --data "$MNIST" --calib-samples 500 --threads 2 \
  --save "$WORK/lenet5_int8.safetensors"
expect "ptq exits 0" test "$rc" -eq 0
run_logged inspect "$INSPECT" --model "$WORK/lenet5_int8.safetensors" --data "$MNIST" --calib-samples 200 \
  --threads 2 --histograms-json "$WORK/hist.json" --metrics-json "$WORK/inspect.json"
expect "inspect exits 0" test "$rc" -eq 0
cat "$WORK/inspect.out"
expect "the header shows the input spec ptq recorded" \
  grep -qF "input: 1x28x28 NCHW uint8/255, mean 0.13066047, std 0.3081078" "$WORK/inspect.out"
expect "the header names the qgemm kernel" grep -qE "^qgemm kernel: [a-z0-9_]+$" "$WORK/inspect.out"
expect "the float checkpoint is found through the metadata" grep -qF "float weights: $WORK/lenet5.safetensors" "$WORK/inspect.out"
# LeNet-5: conv 6x25, conv 16x150, fc 120x400, 84x120, 10x84, all 8-bit per channel with an SQNR.
for shape in 6x25 16x150 120x400 84x120 10x84; do
  expect "a row for the $shape layer with 8 bits, channel, zero points 0..0 and an SQNR" \
    grep -qE "Quantized(Conv2d|Linear) +$shape +8 +channel +[0-9.e-]+\.\.[0-9.e-]+ +0\.\.0 +[0-9]+ +[0-9]+\.[0-9]+ +0\.00%" \
    "$WORK/inspect.out"
done
expect "the activation table has a row per quantized layer" \
  test "$(grep -cE '^ +[0-9]+ +Quantized(Conv2d|Linear) +-?[0-9.e+-]+\.\.' "$WORK/inspect.out")" -eq 5
expect "the histogram JSON parses and its counts add up" python3 - "$WORK/hist.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
sizes = {"6x25": 150, "16x150": 2400, "120x400": 48000, "84x120": 10080, "10x84": 840}
weights = [l["weight"] for l in h["layers"] if "weight" in l]
assert len(weights) == 5, len(weights)
assert sorted(sum(w["counts"]) for w in weights) == sorted(sizes.values())
for w in weights:
    assert w["source"] == "float" and len(w["edges"]) == h["bins"] + 1 == 65
    assert w["edges"][0] <= w["clip"][0] < 0 < w["clip"][1] <= w["edges"][-1]
acts = [l["activation"] for l in h["layers"] if "activation" in l]
assert len(acts) == 5 and h["images"] == 200
assert sum(acts[-1]["counts"]) == 200 * 10
assert sum(h["input_activation"]["counts"]) == 200 * 28 * 28
PY
expect "the metrics JSON parses" python3 -c 'import json, sys; assert len(json.load(open(sys.argv[1]))["layers"]) == 8' "$WORK/inspect.json"
finish
