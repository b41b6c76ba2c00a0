#!/usr/bin/env bash
# End-to-end: quant_sweep on a briefly trained LeNet-5. mnist_cnn trains on 3000 images; the sweep
# runs at 8 and 4 bits on 500 test images with the minmax observer (4 linear PTQ rows per bit
# width: 2 schemes x 2 granularities; k-means and power-of-two at 4 bits; bias correction and
# AdaRound rows at both bits; the float row first: 15 rows). The markdown table and the JSON must
# have those rows; 8-bit symmetric per-channel
# weights must stay within 3 points of float (8 bits is nearly lossless; a broken quantizer or a
# mix-up of rows would show here); the symmetric rows have an integer model whose accuracy is the
# fake-quant model's exactly for the non-linear and the repair rows, and whose file at 4 bits is
# smaller than at 8.
#   usage: quant_sweep.sh path/to/mnist_cnn path/to/quant_sweep
source "$(dirname "$0")/e2e_lib.sh"
MNIST_CNN="$1"
SWEEP="$2"
require_mnist_mirror

run_logged train "$MNIST_CNN" --data "$MNIST" --limit-train 3000 --epochs 1 --threads 2 \
  --save "$WORK/lenet5.safetensors"
expect "mnist_cnn exits 0" test "$rc" -eq 0
run_logged sweep "$SWEEP" --model "$WORK/lenet5.safetensors" --data "$MNIST" --bits 8,4 --observers minmax \
  --repairs bc,adaround --adaround-iters 30 \
  --limit-test 500 --calib-samples 200 --threads 2 --markdown "$WORK/sweep.md" --metrics-json "$WORK/sweep.json"
expect "quant_sweep exits 0" test "$rc" -eq 0

table_rows="$(grep -c '^| ' "$WORK/sweep.md")"  # header + 15 rows (the |---| line starts with '|-')
echo "markdown lines starting with '| ': $table_rows"
expect "the markdown table has a header and 15 rows" test "$table_rows" -eq 16
expect "the float baseline is the first row" \
  bash -c "grep '^| ' '$WORK/sweep.md' | sed -n 2p | grep -q '^| float | 32 |'"
expect "k-means and power-of-two rows are in the table" \
  bash -c "grep -q '^| kmeans | 4 |' '$WORK/sweep.md' && grep -q '^| pow2 | 4 |' '$WORK/sweep.md'"
check_json() {
  python3 - "$WORK/sweep.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert isinstance(rows, list) and len(rows) == 15, f"{len(rows)} rows"
assert rows[0]["method"] == "float"
keys = {"method", "repair", "bits", "scheme", "granularity", "observer", "test_accuracy", "delta_vs_float",
        "model_bytes", "mean_weight_sqnr_db", "integer_accuracy", "integer_file_bytes"}
assert all(keys <= set(r) for r in rows), "a row lacks a column"
sym8 = [r for r in rows if r["method"] == "linear" and r["bits"] == 8 and r["scheme"] == "sym" and r["granularity"] == "channel"]
assert len(sym8) == 1
print(f"8-bit sym per-channel: change {100 * sym8[0]['delta_vs_float']:+.2f} points")
assert sym8[0]["delta_vs_float"] > -0.03, sym8[0]
assert all(r["model_bytes"] < rows[0]["model_bytes"] / 3 for r in rows[1:] if r["bits"] == 8), "8-bit rows should be ~4x smaller"
for r in rows[1:]:
    has_int = r["integer_accuracy"] is not None and r["integer_file_bytes"] is not None
    assert has_int == (r["scheme"] != "asym"), r
nonlinear = [r for r in rows if r["method"] in ("kmeans", "pow2")]
assert len(nonlinear) == 2
for r in nonlinear:
    print(f"{r['method']} w4: fake-quant {100 * r['test_accuracy']:.2f}%, integer {100 * r['integer_accuracy']:.2f}%, "
          f"{r['integer_file_bytes']} bytes")
    assert r["integer_accuracy"] == r["test_accuracy"], r
    assert r["integer_file_bytes"] < sym8[0]["integer_file_bytes"], (r, sym8[0])
repaired = [r for r in rows if r["repair"] not in ("rtn", "-")]
assert sorted((r["method"], r["bits"]) for r in repaired) == [("linear+adaround", 4), ("linear+adaround", 8),
                                                              ("linear+bc", 4), ("linear+bc", 8)], repaired
for r in repaired:
    print(f"{r['method']} w{r['bits']}: fake-quant {100 * r['test_accuracy']:.2f}%, integer {100 * r['integer_accuracy']:.2f}%")
    assert (r["scheme"], r["granularity"], r["observer"]) == ("sym", "channel", "minmax"), r
    assert r["integer_accuracy"] == r["test_accuracy"], r
PY
}
expect "the JSON parses into the 15 rows; 8-bit sym/channel within 3 points; non-linear and repaired integer == fake-quant" check_json
finish
