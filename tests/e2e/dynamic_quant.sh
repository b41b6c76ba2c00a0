#!/usr/bin/env bash
# End-to-end: dynamic quantization of a briefly trained MLP. mnist_mlp trains on 3000 images;
# dynamic_quant replaces its three Linear layers and evaluates on 1000 test images at batch 256 and
# batch 1. The dynamic model must agree with float within 2 points of accuracy at both batch sizes,
# and its weights must take under a third of the float bytes (int8 + per-channel scales).
#   usage: dynamic_quant.sh path/to/mnist_mlp path/to/dynamic_quant
source "$(dirname "$0")/e2e_lib.sh"
MNIST_MLP="$1"
DYNAMIC="$2"
require_mnist_mirror

run_logged train "$MNIST_MLP" --data "$MNIST" --limit-train 3000 --epochs 1 --threads 2 \
  --save "$WORK/mlp.safetensors"
expect "mnist_mlp exits 0" test "$rc" -eq 0
run_logged dq "$DYNAMIC" --model "$WORK/mlp.safetensors" --data "$MNIST" --limit-test 1000 --threads 2 \
  --metrics-json "$WORK/dq.json"
expect "dynamic_quant exits 0" test "$rc" -eq 0
cat "$WORK/dq.out"
check_json() {
  python3 - "$WORK/dq.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["linear_layers_quantized"] == 3, m["linear_layers_quantized"]
assert m["dynamic_weight_bytes"] * 3 < m["float_weight_bytes"]
acc = {(r["batch"], r["model"]): r["test_accuracy"] for r in m["runs"]}
for b in (256, 1):
    f, d = acc[(b, "float")], acc[(b, "dynamic-int8")]
    print(f"batch {b}: float {f:.4f}, dynamic {d:.4f}")
    assert f > 0.5 and abs(f - d) <= 0.02, (b, f, d)
PY
}
expect "3 Linear layers quantized, weights < 1/3 of float, accuracy within 2 points" check_json
finish
