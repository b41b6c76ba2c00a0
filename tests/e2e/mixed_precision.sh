#!/usr/bin/env bash
# End-to-end: mixed_precision on a briefly trained LeNet-5 (mnist_cnn, 3000 images, 1 epoch):
# sensitivity on 200 calibration and 300 held-out images, the front at 3 and 5 average bits, the
# chosen model under 3 average weight bits saved and loaded back. The JSON must hold every
# sensitivity entry (5 layers x 7 bit widths x weight/activation), the allocations must honour
# their budgets, the loaded model must score what the saved one did and agree with its fake-quant
# model, and its file must be smaller than the uniform 8-bit model's. A byte budget below the
# 2-bit size and --device cuda are refused.
#   usage: mixed_precision.sh path/to/mnist_cnn path/to/mixed_precision
source "$(dirname "$0")/e2e_lib.sh"
MNIST_CNN="$1"
MIXED="$2"
require_mnist_mirror

run_logged train "$MNIST_CNN" --data "$MNIST" --limit-train 3000 --epochs 1 --threads 2 \
  --save "$WORK/lenet5.safetensors"
expect "mnist_cnn exits 0" test "$rc" -eq 0
run_logged mixed "$MIXED" --model "$WORK/lenet5.safetensors" --data "$MNIST" --budget-bits 3 --front-bits 3,5 \
  --calib-samples 200 --held-out 300 --limit-test 500 --threads 2 --save "$WORK/mixed.safetensors" \
  --metrics-json "$WORK/mixed.json"
expect "mixed_precision exits 0" test "$rc" -eq 0
expect "the sensitivity table is printed" grep -q "one layer quantized at a time" "$WORK/mixed.out"
expect "the chosen model was saved" test -s "$WORK/mixed.safetensors"
check_json() {
  python3 - "$WORK/mixed.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert len(m["layers"]) == 5, m["layers"]
assert len(m["sensitivity"]) == 5 * 7 * 2, len(m["sensitivity"])
assert all(e["kl"] >= 0 and e["mse"] >= 0 for e in m["sensitivity"])
assert [u["label"] for u in m["uniform"]] == ["uniform w8", "uniform w4", "uniform w2"]
for r in m["mixed"]:
    budget = float(r["label"].split("<=")[1].split()[0])
    assert r["average_weight_bits"] <= budget + 1e-9, r
c = m["chosen"]
print(f"chosen: {c['average_weight_bits']:.2f} bits, {c['file_bytes']} bytes, integer {100 * c['int_test_accuracy']:.2f}%, "
      f"float {100 * m['float_test_accuracy']:.2f}%")
assert c["average_weight_bits"] <= 3 + 1e-9, c
assert c["loaded_int_test_accuracy"] == c["int_test_accuracy"], c
assert c["loaded_vs_fake_quant_prediction_match"] >= 0.98, c
assert c["file_bytes"] < m["uniform"][0]["file_bytes"], (c, m["uniform"][0])
PY
}
expect "the JSON holds the table and the front; budgets honoured; the loaded model is the saved one" check_json
run_logged small "$MIXED" --model "$WORK/lenet5.safetensors" --data "$MNIST" --budget-bytes 100
expect "a byte budget below every layer at 2 bits is refused" test "$rc" -ne 0
expect "the refusal says the least size" grep -q "is below 17256 bytes" "$WORK/small.err"
run_logged cuda "$MIXED" --model "$WORK/lenet5.safetensors" --data "$MNIST" --device cuda
expect "--device cuda is refused" test "$rc" -ne 0
expect "the refusal names the device" grep -q "runs on the CPU only" "$WORK/cuda.err"
finish
