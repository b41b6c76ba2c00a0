#!/usr/bin/env python3
# Builds the `make bench-pytorch` table from qgrad's --metrics-json files and the JSON lines
# bench/pytorch_mnist.py prints, prints it, and writes it as JSON. Standard library only, so it
# runs whether or not torch is installed.
#   python3 bench/bench_table.py --qgrad mlp=mlp.json --qgrad lenet5=cnn.json \
#       [--pytorch rows.jsonl] --json bench/results/pytorch_mnist.json
# The ratio column is qgrad's samples/s over that PyTorch row's samples/s (> 1: qgrad is faster).
import argparse
import json
import os


def qgrad_row(model, path):
    with open(path) as f:
        metrics = json.load(f)
    epoch = metrics["epochs"][-1]
    return {"model": model, "framework": "qgrad", "setup": f"{metrics['threads']} threads",
            "seconds": epoch["seconds"], "samples_per_second": epoch["samples_per_second"],
            "test_accuracy": metrics["test_accuracy"]}


def pytorch_rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--qgrad", action="append", default=[], metavar="MODEL=METRICS_JSON")
    p.add_argument("--pytorch", action="append", default=[], metavar="JSONL")
    p.add_argument("--json", default="", help="write the table here")
    p.add_argument("--note", default="", help="printed under the table and kept in the JSON")
    args = p.parse_args()

    rows = [qgrad_row(*spec.split("=", 1)) for spec in args.qgrad]
    qgrad_rate = {r["model"]: r["samples_per_second"] for r in rows}
    for path in args.pytorch:
        for r in pytorch_rows(path):
            r["setup"] = f"{r['threads']} threads, {r['setup']}"
            if r["model"] in qgrad_rate:
                r["qgrad_over_pytorch"] = qgrad_rate[r["model"]] / r["samples_per_second"]
            rows.append(r)
    rows.sort(key=lambda r: (r["model"] != "mlp", r["framework"] != "qgrad"))

    header = f"{'model':<8} {'framework':<10} {'setup':<42} {'epoch s':>8} {'samples/s':>10} {'test acc':>9} {'qgrad/PyTorch':>14}"
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = f"{r['qgrad_over_pytorch']:.2f}x" if "qgrad_over_pytorch" in r else ""
        print(f"{r['model']:<8} {r['framework']:<10} {r['setup']:<42} {r['seconds']:>8.1f} "
              f"{r['samples_per_second']:>10.0f} {100 * r['test_accuracy']:>8.2f}% {ratio:>14}")
    if args.note:
        print(args.note)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "note": args.note}, f, indent=2)
            f.write("\n")
        print(f"table written to {args.json}")


if __name__ == "__main__":
    main()
