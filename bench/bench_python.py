#!/usr/bin/env python3
"""`make bench-python`: one LeNet-5 epoch on MNIST as a plain Python loop over qgrad.data's
DataLoader vs the C++ mnist_cnn program's epoch, same recipe and same threads.

Recipe (examples/mnist_cnn/main.cpp, examples/common/task.cpp): full training set, batch 64, shuffled by
(seed 0, epoch 0), mean 0.1307 / std 0.3081, zoo model 'lenet5' seeded 0, SGD lr 0.02 momentum
0.9, CosineAnnealing(t_max = 1 epoch) applied before the epoch. The C++ time is the epoch time
mnist_cnn writes to --metrics-json (its training loop only, evaluation excluded); the Python
time is the same loop, timed around `for images, labels in loader: ...`.

Rounds (default 3) alternate C++, Python, C++, Python, ... each a fresh process, all with
QGRAD_NUM_THREADS=N and OMP_WAIT_POLICY=passive. Prints a table and the ratio of the medians
python_epoch_s / cpp_epoch_s (the requirement: <= 1.15), and writes bench/results/python_mnist.json.

Usage: bench/bench_python.py [--build DIR] [--data DIR] [--rounds R] [--threads N] [--json FILE]
       [--limit-train N]  (0: all 60,000 images; a smaller N makes a quick smoke run)
Run it with the Python the qgrad module is built for (CMake's QGRAD_PYTHON_EXECUTABLE).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LR, MOMENTUM, BATCH, SEED, MEAN, STD = 0.02, 0.9, 64, 0, 0.1307, 0.3081


def python_epoch(args):
    """The worker: one epoch as a plain Python loop; prints one JSON line."""
    sys.path.insert(0, os.path.join(args.build, "python"))
    import qgrad
    from qgrad import data, nn, optim

    qgrad.set_num_threads(args.threads)
    train = data.MNIST(args.data, train=True)
    if args.limit_train > 0:
        train = train.evenly_spaced(args.limit_train)
    test = data.MNIST(args.data, train=False)
    loader = data.DataLoader(train, batch_size=BATCH, shuffle=True, seed=SEED, mean=MEAN, std=STD)
    model = nn.model("lenet5", seed=SEED)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    schedule = optim.CosineAnnealing(LR, t_max=1)
    schedule.apply(opt)
    model.train()
    loader.set_epoch(0)

    start = time.perf_counter()
    for images, labels in loader:
        logits = model(images)
        loss = qgrad.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    schedule.step(opt)

    model.eval()  # accuracy, untimed: evidence that the loop trained the same model
    correct = 0
    with qgrad.no_grad():
        for images, labels in data.DataLoader(test, batch_size=500, mean=MEAN, std=STD):
            correct += int((qgrad.argmax(model(images), 1).numpy() == labels.numpy()).sum())
    print(json.dumps({"seconds": seconds, "test_accuracy": correct / len(test), "last_loss": loss.item()}))


def run_cpp(args, env, tmp):
    metrics = os.path.join(tmp, "cpp.json")
    cmd = [os.path.join(args.build, "examples", "mnist_cnn"), "--data", args.data, "--epochs", "1",
           "--batch-size", str(BATCH), "--lr", str(LR), "--momentum", str(MOMENTUM), "--seed", str(SEED),
           "--threads", str(args.threads), "--limit-train", str(args.limit_train), "--metrics-json", metrics]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)  # stderr: its progress bar
    if out.returncode != 0:
        sys.exit(f"bench_python: {' '.join(cmd)} failed:\n{out.stdout}{out.stderr}")
    with open(metrics) as f:
        m = json.load(f)
    return {"seconds": m["epochs"][0]["seconds"], "test_accuracy": m["test_accuracy"]}


def run_python(args, env):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--build", args.build, "--data", args.data,
           "--threads", str(args.threads), "--limit-train", str(args.limit_train)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench_python: the Python worker failed:\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"))
    p.add_argument("--data", default=os.path.join(REPO, "data", "mnist"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit-train", type=int, default=0)
    p.add_argument("--json", default=os.path.join(REPO, "bench", "results", "python_mnist.json"))
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.build = os.path.abspath(args.build)
    if args.worker:
        return python_epoch(args)
    if not os.path.isfile(os.path.join(args.data, "train-images-idx3-ubyte.gz")) and \
            not os.path.isfile(os.path.join(args.data, "train-images-idx3-ubyte")):
        sys.exit(f"bench_python: no MNIST in {args.data} (scripts/fetch_data.sh, or --data DIR)")

    env = dict(os.environ, QGRAD_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="passive",
               PYTHONPATH=os.path.join(args.build, "python"))
    print(f"bench_python: {args.rounds} rounds, {args.threads} threads, load average {loadavg()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for kind in ("cpp", "python"):
                load = loadavg()
                res = run_cpp(args, env, tmp) if kind == "cpp" else run_python(args, env)
                rows.append({"round": r + 1, "kind": kind, "load_before": load, **res})
                print(f"  round {r + 1} {kind:6s} epoch {res['seconds']:7.2f} s  test acc "
                      f"{100 * res['test_accuracy']:.2f}%  (load {load})", flush=True)
    times = {k: [x["seconds"] for x in rows if x["kind"] == k] for k in ("cpp", "python")}
    cpp, py = statistics.median(times["cpp"]), statistics.median(times["python"])
    ratio = py / cpp
    # The minimum is shown too: on a shared machine it is the run least disturbed by others.
    print(f"\n{'':8s} {'median epoch s':>15s} {'min epoch s':>12s}")
    print(f"{'C++':8s} {cpp:15.2f} {min(times['cpp']):12.2f}\n{'Python':8s} {py:15.2f} {min(times['python']):12.2f}")
    print(f"ratio of the minima = {min(times['python']) / min(times['cpp']):.3f}")
    print(f"ratio python/cpp = {ratio:.3f} (requirement <= 1.15: {'met' if ratio <= 1.15 else 'NOT met'}); "
          f"load average now {loadavg()}")
    result = {"threads": args.threads, "limit_train": args.limit_train, "rounds": rows,
              "cpp_median_s": cpp, "python_median_s": py, "ratio": ratio,
              "ratio_of_minima": min(times["python"]) / min(times["cpp"]), "load_after": loadavg()}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
