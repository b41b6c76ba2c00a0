#!/usr/bin/env python3
# Merges bench_inference's JSON (qgrad float and int8) and, when given, pytorch_quantized.py's
# (PyTorch float and int8) into the `make bench-inference` table, one row per model x threads x
# batch, prints it and writes it as JSON. Standard library only, so it runs without torch.
#   python3 bench/inference_table.py --qgrad q.json [--pytorch p.json] [--note TEXT] --json out.json
# Ratios: qgrad int8 / qgrad float and qgrad int8 / PyTorch int8 (> 1: qgrad's int8 is faster).
# The images/s are the best call of each cell; the medians stay in the raw sections of the JSON.
import argparse
import json
import os


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--qgrad", required=True)
    p.add_argument("--pytorch", default="")
    p.add_argument("--note", default="")
    p.add_argument("--json", default="")
    args = p.parse_args()

    qgrad = load(args.qgrad)
    pytorch = load(args.pytorch) if args.pytorch else None
    torch_rows = {(r["model"], r["threads"], r["batch"]): r for r in (pytorch or {}).get("rows", [])}
    table = []
    for r in qgrad["rows"]:
        t = torch_rows.get((r["model"], r["threads"], r["batch"]))
        row = {"model": r["model"], "threads": r["threads"], "batch": r["batch"],
               "qgrad_float": r["float_images_per_second"], "qgrad_int8": r["int8_images_per_second"],
               "qgrad_int8_core": r["int8_core_images_per_second"],
               "qgrad_int8_over_float": r["int8_over_float"],
               "int8_vs_float_same_prediction": r["int8_vs_float_same_prediction"]}
        if t:
            row.update({"pytorch_float": t["float_images_per_second"], "pytorch_int8": t["int8_images_per_second"],
                        "qgrad_int8_over_pytorch_int8": r["int8_images_per_second"] / t["int8_images_per_second"]})
        table.append(row)

    engine = f", PyTorch int8 engine {pytorch['engine']}" if pytorch else ""
    print(f"images/s (best call), qgrad kernel {qgrad['kernel']}{engine}; int8 = float in, float logits out")
    header = (f"{'model':<10} {'thr':>3} {'batch':>5} {'qgrad f32':>10} {'qgrad int8':>10} {'torch f32':>10} "
              f"{'torch int8':>10} {'q8/qf32':>8} {'q8/torch8':>9} {'agree':>6}")
    print(header)
    print("-" * len(header))
    for r in table:
        has = "pytorch_int8" in r
        cell = (lambda k: f"{r[k]:>10.0f}") if has else (lambda k: f"{'-':>10}")
        ratio = f"{r['qgrad_int8_over_pytorch_int8']:>8.2f}x" if has else f"{'-':>9}"
        print(f"{r['model']:<10} {r['threads']:>3} {r['batch']:>5} {r['qgrad_float']:>10.0f} {r['qgrad_int8']:>10.0f} "
              f"{cell('pytorch_float')} {cell('pytorch_int8')} {r['qgrad_int8_over_float']:>7.2f}x {ratio} "
              f"{100 * r['int8_vs_float_same_prediction']:>5.0f}%")
    print("agree: share of the batch where qgrad's int8 model predicts the float model's class")
    if args.note:
        print(args.note)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"table": table, "qgrad": qgrad, "pytorch": pytorch, "note": args.note}, f, indent=2)
            f.write("\n")
        print(f"table written to {args.json}")


if __name__ == "__main__":
    main()
