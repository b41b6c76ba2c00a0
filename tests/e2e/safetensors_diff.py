#!/usr/bin/env python3
# Compares two safetensors files tensor by tensor (standard library only): same names, dtypes,
# shapes and raw bytes, and the same __metadata__. Prints each difference; exits 0 when there is
# none, 1 otherwise, 2 when a file is not valid safetensors.
# Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape,
# data_offsets: [begin, end]}, "__metadata__": {...}}, then the data; offsets count from the data.
#   usage: safetensors_diff.py A.safetensors B.safetensors
import json
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {name: (e["dtype"], e["shape"], data[e["data_offsets"][0]:e["data_offsets"][1]])
               for name, e in header.items()}
    return tensors, metadata


def main(a_path, b_path):
    try:
        (a, a_meta), (b, b_meta) = read(a_path), read(b_path)
    except (OSError, ValueError, KeyError, struct.error) as e:
        print(f"safetensors_diff: cannot read the files: {e}")
        return 2
    diffs = [f"only in {a_path}: {n}" for n in sorted(a.keys() - b.keys())]
    diffs += [f"only in {b_path}: {n}" for n in sorted(b.keys() - a.keys())]
    for name in sorted(a.keys() & b.keys()):
        if a[name][:2] != b[name][:2]:
            diffs.append(f"{name}: dtype/shape {a[name][:2]} vs {b[name][:2]}")
        elif a[name][2] != b[name][2]:
            differing = sum(x != y for x, y in zip(a[name][2], b[name][2]))
            diffs.append(f"{name}: {differing} of {len(a[name][2])} bytes differ")
    for key in sorted(a_meta.keys() | b_meta.keys()):
        if a_meta.get(key) != b_meta.get(key):
            diffs.append(f"metadata {key}: {a_meta.get(key)!r} vs {b_meta.get(key)!r}")
    for d in diffs:
        print(d)
    print(f"{len(a)} tensors compared, {len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
