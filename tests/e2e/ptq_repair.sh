#!/usr/bin/env bash
# End-to-end: ptq's post-training repairs. mnist_cnn trains LeNet-5 briefly; `ptq --help` lists
# the repair flags; ptq at 2-bit weights with --equalize --adaround --bias-correction reports the
# three repairs in its printout and metrics JSON, AdaRound lowers every layer's output error on
# the calibration images against round-to-nearest, the integer model predicts what the
# fake-quant model does, and the saved file, run by `evaluate --model`, gives exactly ptq's
# integer accuracy (so the file carries the repaired weights and biases) and names the repairs.
#   usage: ptq_repair.sh path/to/mnist_cnn path/to/ptq path/to/evaluate
source "$(dirname "$0")/e2e_lib.sh"
MNIST_CNN="$1"
PTQ="$2"
EVALUATE="$3"
require_mnist_mirror

run_logged help "$PTQ" --help
expect "ptq --help lists the repairs" \
  bash -c "grep -q -- '--equalize' '$WORK/help.out' && grep -q -- '--adaround' '$WORK/help.out' && grep -q -- '--bias-correction' '$WORK/help.out' && grep -q -- '--adaround-iters' '$WORK/help.out'"
run_logged train "$MNIST_CNN" --data "$MNIST" --limit-train 3000 --epochs 1 --threads 2 \
  --save "$WORK/lenet5.safetensors"
expect "mnist_cnn exits 0" test "$rc" -eq 0
run_logged ptq "$PTQ" --model "$WORK/lenet5.safetensors" --data "$MNIST" --bits 2 --act-bits 8 --calib-samples 300 \
  --equalize --adaround --adaround-iters 60 --bias-correction --threads 2 \
  --save "$WORK/lenet5_w2.safetensors" --metrics-json "$WORK/ptq.json"
expect "ptq exits 0" test "$rc" -eq 0
expect "ptq prints the three repairs" \
  bash -c "grep -q '^cross-layer equalization: 4 layer pairs' '$WORK/ptq.out' && grep -q '^adaround layer' '$WORK/ptq.out' && grep -q '^bias correction: 5 layers' '$WORK/ptq.out' && grep -q 'cle+adaround+bc)' '$WORK/ptq.out'"
expect "the metrics name the repairs; AdaRound lowers each layer's output error; integer = fake-quant" \
  python3 - "$WORK/ptq.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["repair"] == "cle+adaround+bc", m["repair"]
assert len(m["equalization"]["pairs"]) == 4 and m["equalization"]["sweeps"] >= 1, m["equalization"]
layers = m["adaround"]["layers"]
assert m["adaround"]["iterations"] == 60 and len(layers) == 5, m["adaround"]
for l in layers:
    print(f"layer {l['layer']}: output MSE {l['rtn_output_mse']:.3g} -> {l['output_mse']:.3g}, {l['changed']} of {l['weights']} codes changed")
    assert l["output_mse"] < l["rtn_output_mse"], l
assert len(m["bias_correction"]) == 5
assert m["int_vs_fake_quant_prediction_match"] == 1.0, m["int_vs_fake_quant_prediction_match"]
assert m["int_test_accuracy"] == m["fake_quant_test_accuracy"], m
PY
run_logged eval "$EVALUATE" --model "$WORK/lenet5_w2.safetensors" --data "$MNIST" --threads 2 \
  --metrics-json "$WORK/eval.json"
expect "evaluate exits 0 on the repaired integer model" test "$rc" -eq 0
ptq_acc="$(json_get "$WORK/ptq.json" int_test_accuracy)"
eval_acc="$(json_get "$WORK/eval.json" test_accuracy)"
echo "ptq integer model: $ptq_acc; evaluate: $eval_acc"
expect "evaluate's accuracy equals ptq's integer-model accuracy" test "$ptq_acc" = "$eval_acc"
expect "the file's metadata names the repairs" python3 - "$WORK/lenet5_w2.safetensors" <<'PY'
import json, struct, sys
f = open(sys.argv[1], "rb")
meta = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))["__metadata__"]
assert meta["repair"] == "cle+adaround+bc", meta
PY
finish
