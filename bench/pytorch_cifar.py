#!/usr/bin/env python3
# The PyTorch side of `make bench-cifar`: the CIFAR CNN of examples/common/models.cpp (three
# stages of [conv3x3 (no bias) - BatchNorm2d - ReLU] x 2 + max-pool 2, widths 32/64/128, global
# average pool, Linear 128->10), timed exactly as build/bench/bench_cifar times qgrad's: a fixed
# random batch, one warm-up step, then training steps (forward, cross-entropy, backward, SGD with
# Nesterov momentum 0.9 and weight decay 5e-4) and eval-mode inference under torch.no_grad().
# Prints one JSON line like bench_cifar's, with "framework": "pytorch" and the set-up.
#   python3 bench/pytorch_cifar.py --threads 2 --setup default
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def cifar_cnn():
    layers, c_in = [], 3
    for width in (32, 64, 128):
        for c in (c_in, width):
            layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        layers.append(nn.MaxPool2d(2))
        c_in = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)]
    return nn.Sequential(*layers)


def seconds_per_step(steps, step):
    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train-batch", type=int, default=128)
    p.add_argument("--train-steps", type=int, default=6)
    p.add_argument("--infer-batch", type=int, default=256)
    p.add_argument("--infer-steps", type=int, default=6)
    p.add_argument("--setup", default="default", help="a label for the row (e.g. the environment used)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = cifar_cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(args.train_batch, 3, 32, 32)
    y = torch.arange(args.train_batch) % 10
    model.train()

    def train_step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    train = seconds_per_step(args.train_steps, train_step)
    xi = torch.randn(args.infer_batch, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        infer = seconds_per_step(args.infer_steps, lambda: model(xi))
    print(json.dumps({"framework": "pytorch", "setup": args.setup, "threads": args.threads,
                      "torch": torch.__version__, "train_batch": args.train_batch,
                      "train_samples_per_second": round(args.train_batch / train, 2),
                      "infer_batch": args.infer_batch,
                      "infer_images_per_second": round(args.infer_batch / infer, 2)}))


if __name__ == "__main__":
    main()
