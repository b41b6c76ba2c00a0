#!/usr/bin/env python3
# The PyTorch side of `make bench-pytorch`: trains the same MLP (784-256-128-10) and LeNet-5 as
# examples/common/models.cpp on MNIST, with the same recipe as build/examples/mnist_{mlp,cnn}
# (batch 64, SGD momentum 0.9, lr 0.05, PyTorch's default init, which qgrad copies, pixels
# normalized with mean 0.1307 / std 0.3081), and prints one JSON line per model:
#   {"model": "mlp", "framework": "pytorch", "seconds": ..., "samples_per_second": ..., "test_accuracy": ...}
# The data comes straight from the MNIST .gz files (gzip + numpy), so nothing is downloaded.
# "seconds" is the training loop of one epoch (forward, backward, step, and cutting the batches
# out of the pre-normalized tensor); the test pass after it is not timed, as in qgrad.
#   python3 bench/pytorch_mnist.py --data data/mnist --threads 2 [--interop-threads 1] [--models mlp lenet5]
import argparse
import gzip
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.1307, 0.3081


def read_idx(path):
    # IDX: 4-byte magic (0, 0, dtype 0x08 = uint8, ndim), ndim big-endian uint32 sizes, raw bytes.
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir, prefix):
    images = read_idx(f"{data_dir}/{prefix}-images-idx3-ubyte.gz").astype(np.float32)
    labels = read_idx(f"{data_dir}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    x = torch.from_numpy((images / 255.0 - MEAN) / STD).unsqueeze(1)  # [N, 1, 28, 28]
    return x.contiguous(), torch.from_numpy(labels)


def make_model(name):
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def train_one_epoch(model, opt, x, y, batch_size, seed):
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))
    model.train()
    start = time.perf_counter()
    for b in range(0, x.shape[0], batch_size):
        idx = order[b:b + batch_size]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def accuracy(model, x, y, batch_size=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, x.shape[0], batch_size):
            correct += (model(x[b:b + batch_size]).argmax(1) == y[b:b + batch_size]).sum().item()
    return correct / x.shape[0]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="data/mnist")
    p.add_argument("--models", nargs="+", default=["mlp", "lenet5"], choices=["mlp", "lenet5"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--interop-threads", type=int, default=0, help="0: PyTorch's default")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit-train", type=int, default=0, help="use only the first N training images (0: all)")
    p.add_argument("--setup", default="default", help="label for this configuration in the output")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    if args.interop_threads > 0:
        torch.set_num_interop_threads(args.interop_threads)
    x_train, y_train = load_split(args.data, "train")
    if args.limit_train > 0:
        x_train, y_train = x_train[:args.limit_train], y_train[:args.limit_train]
    x_test, y_test = load_split(args.data, "t10k")
    for name in args.models:
        torch.manual_seed(args.seed)
        model = make_model(name)
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
        seconds = train_one_epoch(model, opt, x_train, y_train, args.batch_size, args.seed)
        print(json.dumps({"model": name, "framework": "pytorch", "setup": args.setup,
                          "torch_version": torch.__version__, "threads": torch.get_num_threads(),
                          "seconds": seconds, "samples_per_second": x_train.shape[0] / seconds,
                          "test_accuracy": accuracy(model, x_test, y_test)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
