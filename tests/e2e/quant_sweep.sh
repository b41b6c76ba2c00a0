#!/usr/bin/env bash
# End-to-end: quant_sweep on a briefly trained LeNet-5. mnist_cnn trains on 3000 images; the sweep
# runs at 8 bits on 500 test images (16 linear PTQ rows: 2 schemes x 2 granularities x 4 observers,
# plus k-means and power-of-two, plus the float row). The markdown table must have those 19 rows
# with the float row first, the JSON must parse into the same 19 rows, and 8-bit symmetric
# per-channel weights must stay within 3 points of float (8 bits is nearly lossless; a broken
# quantizer or a mix-up of rows would show here).
#   usage: quant_sweep.sh path/to/mnist_cnn path/to/quant_sweep
source "$(dirname "$0")/e2e_lib.sh"
MNIST_CNN="$1"
SWEEP="$2"
require_mnist_mirror

run_logged train "$MNIST_CNN" --data "$MNIST" --limit-train 3000 --epochs 1 --threads 2 \
  --save "$WORK/lenet5.safetensors"
expect "mnist_cnn exits 0" test "$rc" -eq 0
run_logged sweep "$SWEEP" --model "$WORK/lenet5.safetensors" --data "$MNIST" --bits 8 --limit-test 500 \
  --calib-samples 200 --threads 2 --markdown "$WORK/sweep.md" --metrics-json "$WORK/sweep.json"
expect "quant_sweep exits 0" test "$rc" -eq 0

table_rows="$(grep -c '^| ' "$WORK/sweep.md")"  # header + 19 rows (the |---| line starts with '|-')
echo "markdown lines starting with '| ': $table_rows"
expect "the markdown table has a header and 19 rows" test "$table_rows" -eq 20
expect "the float baseline is the first row" \
  bash -c "grep '^| ' '$WORK/sweep.md' | sed -n 2p | grep -q '^| float | 32 |'"
expect "k-means and power-of-two rows are in the table" \
  bash -c "grep -q '^| kmeans | 8 |' '$WORK/sweep.md' && grep -q '^| pow2 | 8 |' '$WORK/sweep.md'"
check_json() {
  python3 - "$WORK/sweep.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert isinstance(rows, list) and len(rows) == 19, f"{len(rows)} rows"
assert rows[0]["method"] == "float"
keys = {"method", "bits", "scheme", "granularity", "observer", "test_accuracy", "delta_vs_float",
        "model_bytes", "mean_weight_sqnr_db"}
assert all(keys <= set(r) for r in rows), "a row lacks a column"
sym = [r for r in rows if r["method"] == "linear" and r["scheme"] == "sym" and r["granularity"] == "channel"]
assert len(sym) == 4
worst = min(r["delta_vs_float"] for r in sym)
print(f"8-bit sym per-channel: worst change {100 * worst:+.2f} points")
assert worst > -0.03, worst
assert all(r["model_bytes"] < rows[0]["model_bytes"] / 3 for r in rows[1:]), "8-bit rows should be ~4x smaller"
PY
}
expect "the JSON parses into the 19 rows, 8-bit sym/channel within 3 points of float" check_json
finish
