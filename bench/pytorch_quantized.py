#!/usr/bin/env python3
# The PyTorch side of `make bench-inference`: LeNet-5 and the CIFAR CNN with the same layers as
# examples/common/models.cpp, float eval against PyTorch's own eager-mode post-training static
# quantization, at the same batch sizes and thread counts as build/bench/bench_inference.
#   quantization: QuantStub/DeQuantStub around the model, conv+bn+relu / conv+relu / linear+relu
#   fused, qconfig = the one qgrad's default uses (min-max observers: uint8 per-tensor affine
#   activations, int8 per-channel symmetric weights), engine onednn, else qnnpack (printed).
#   images/s = batch / seconds of one call: best (and median) of several calls after a warm-up,
#   like bench_inference; float and int8 are timed in the same process, one after the other.
# Weights: the qgrad checkpoints when given (same safetensors keys, read with numpy), else
# PyTorch's default init from --seed. Images: the test images under --data when given, else
# uniform random pixels; normalized with the same per-channel mean/std as qgrad.
#   python3 bench/pytorch_quantized.py [--lenet CKPT] [--cifar CKPT] [--data ROOT]
#       [--batches 1 64 256] [--threads 1 2] [--json FILE]
import argparse
import copy
import gzip
import json
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.ao.quantization as tq
import torch.nn as nn

NORMALIZE = {"lenet5": ([0.1307], [0.3081]), "cifar_cnn": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])}
SHAPE = {"lenet5": (1, 28, 28), "cifar_cnn": (3, 32, 32)}


class GlobalAvgPool(nn.Module):
    # qgrad's GlobalAvgPool is one module (index 21), so the Linear keeps index 22 and the
    # checkpoint keys line up.
    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return torch.flatten(self.pool(x), 1)


def make_body(arch):
    if arch == "lenet5":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    layers, cin = [], 3
    for width in (32, 64, 128):
        for c in (cin, width):
            layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        layers.append(nn.MaxPool2d(2))
        cin = width
    return nn.Sequential(*layers, GlobalAvgPool(), nn.Linear(128, 10))


def fusion_groups(body):
    # [conv, bn, relu], [conv, relu], [linear, relu] by index, as qgrad's prepare() fuses them.
    mods, groups, i = list(body), [], 0
    while i < len(mods):
        if isinstance(mods[i], (nn.Conv2d, nn.Linear)):
            g = [str(i)]
            if i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
                g.append(str(i + 1))
            if i + len(g) < len(mods) and isinstance(mods[i + len(g)], nn.ReLU):
                g.append(str(i + len(g)))
            if len(g) > 1:
                groups.append(g)
            i += len(g)
        else:
            i += 1
    return groups


class Quantizable(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.quant, self.body, self.dequant = tq.QuantStub(), body, tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.body(self.quant(x)))


def read_safetensors(path):
    # 8-byte little-endian header length, JSON header, raw little-endian tensor bytes.
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for key, info in header.items():
        if key == "__metadata__" or info["dtype"] != "F32" or key.startswith("optimizer."):
            continue
        a, b = info["data_offsets"]
        out[key] = torch.from_numpy(np.frombuffer(raw, dtype="<f4", count=(b - a) // 4, offset=8 + n + a)
                                    .reshape(info["shape"]).copy())
    return out


def read_idx(path):
    # IDX: 4-byte magic (0, 0, dtype 0x08 = uint8, ndim), ndim big-endian uint32 sizes, raw bytes.
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(raw[3])]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3]).reshape(dims)


def cifar_test_images(root, n):
    # Image-folder layout test/<class>/*.jpg, taken round-robin over the classes.
    from PIL import Image
    folder = os.path.join(root, "test")
    classes = sorted(os.listdir(folder))
    files = [sorted(os.listdir(os.path.join(folder, c))) for c in classes]
    images = []
    for i in range(n):
        c = i % len(classes)
        with Image.open(os.path.join(folder, classes[c], files[c][i // len(classes)])) as im:
            images.append(np.asarray(im.convert("RGB")).transpose(2, 0, 1))
    return np.stack(images)


def images_for(arch, data_root, n, seed):
    if data_root:
        if arch == "lenet5":
            pixels = read_idx(os.path.join(data_root, "mnist", "t10k-images-idx3-ubyte.gz"))[:n, None]
        else:
            pixels = cifar_test_images(os.path.join(data_root, "cifar10"), n)
        what = f"{'mnist' if arch == 'lenet5' else 'cifar10'} test images"
    else:
        pixels = np.random.default_rng(seed).integers(0, 256, size=(n, *SHAPE[arch]), dtype=np.uint8)
        what = "random pixels"
    mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in NORMALIZE[arch])
    return (torch.from_numpy(pixels.astype(np.float32)) / 255.0 - mean) / std, what


def pick_engine():
    for engine in ("onednn", "qnnpack"):
        if engine in torch.backends.quantized.supported_engines:
            try:
                torch.backends.quantized.engine = engine
                return engine
            except RuntimeError:
                continue
    sys.exit("pytorch_quantized: neither onednn nor qnnpack is a supported quantized engine")


def quantize_model(float_model, calib):
    # A copy: fusion and conversion rewrite the modules in place.
    model = Quantizable(copy.deepcopy(float_model)).eval()
    tq.fuse_modules(model.body, fusion_groups(model.body), inplace=True)
    model.qconfig = tq.QConfig(
        activation=tq.MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine),
        weight=tq.PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    tq.prepare(model, inplace=True)
    with torch.no_grad():
        for b in range(0, calib.shape[0], 250):
            model(calib[b:b + 250])
    tq.convert(model, inplace=True)
    return model


def time_calls(f, min_seconds):
    f()
    times = []
    while len(times) < 3 or (sum(times) < min_seconds and len(times) < 1000):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), len(times)


def main():
    p = argparse.ArgumentParser(description="PyTorch float vs eager-mode PTQ int8 inference")
    p.add_argument("--lenet", default="")
    p.add_argument("--cifar", default="")
    p.add_argument("--data", default="", help="folder holding mnist/ and cifar10/")
    p.add_argument("--models", nargs="+", default=["lenet5", "cifar_cnn"], choices=["lenet5", "cifar_cnn"])
    p.add_argument("--batches", nargs="+", type=int, default=[1, 64, 256])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--calib-samples", type=int, default=256)
    p.add_argument("--min-seconds", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default="")
    args = p.parse_args()

    engine = pick_engine()
    print(f"PyTorch {torch.__version__}, quantized engine {engine}; best of >= {args.min_seconds:.2f} s per cell")
    rows, models = [], []
    for arch in args.models:
        torch.manual_seed(args.seed)
        body = make_body(arch)
        ckpt = args.lenet if arch == "lenet5" else args.cifar
        if ckpt:
            missing, _ = body.load_state_dict(read_safetensors(ckpt), strict=False)
            if any(not k.endswith("num_batches_tracked") for k in missing):
                sys.exit(f"pytorch_quantized: {ckpt} lacks {missing}")
        body.eval()
        weights = f"checkpoint {ckpt}" if ckpt else f"fresh (PyTorch default init, seed {args.seed})"
        x_all, what = images_for(arch, args.data, max(max(args.batches), args.calib_samples), args.seed + 1)
        qmodel = quantize_model(body, x_all[:args.calib_samples])
        with torch.no_grad():
            xc = x_all[:max(args.batches)]
            agree = (body(xc).argmax(1) == qmodel(xc).argmax(1)).float().mean().item()
        print(f"\n{arch}: weights {weights}, {what}, calibrated on {args.calib_samples} images; "
              f"int8 = float prediction on {100 * agree:.1f}% of {xc.shape[0]} images")
        models.append({"model": arch, "weights": weights, "images": what, "engine": engine,
                       "int8_vs_float_same_prediction": agree})
        print(f"  {'threads':>7} {'batch':>7} {'float img/s':>12} {'int8 img/s':>12} {'int8/float':>11}")
        for threads in args.threads:
            torch.set_num_threads(threads)
            for batch in args.batches:
                x = x_all[:batch].contiguous()
                with torch.no_grad():
                    f_best, f_med, f_calls = time_calls(lambda: body(x), args.min_seconds)
                    i_best, i_med, i_calls = time_calls(lambda: qmodel(x), args.min_seconds)
                print(f"  {threads:>7} {batch:>7} {batch / f_best:>12.0f} {batch / i_best:>12.0f} "
                      f"{f_best / i_best:>10.2f}x")
                rows.append({"model": arch, "framework": "pytorch", "engine": engine, "threads": threads,
                             "batch": batch, "float_images_per_second": batch / f_best,
                             "int8_images_per_second": batch / i_best,
                             "float_images_per_second_median": batch / f_med,
                             "int8_images_per_second_median": batch / i_med,
                             "calls": [f_calls, i_calls], "int8_over_float": f_best / i_best})
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"program": "pytorch_quantized", "torch": torch.__version__, "engine": engine,
                       "models": models, "rows": rows}, f, indent=2)
            f.write("\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
