#!/usr/bin/env bash
# Writes the fuzz targets' seed corpora into OUT/<target>/ from real data (no binary is committed):
# MNIST's test set and a few CIFAR-10 JPEGs, found in the repository's data/ (`make data`) or in
# the offline mirror ($QGRAD_DATA_MIRROR), passed through BUILD/fuzz/make_seeds (fuzz/make_seeds.cpp),
# which also writes a small float checkpoint and int8/int4 models with the library's own writers.
# The crafted inputs in fuzz/regressions/<target>/ (past findings) are copied in as well.
# Usage: scripts/fuzz_corpus.sh BUILD_DIR OUT_DIR
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$1" OUT="$2"
MIRROR="${QGRAD_DATA_MIRROR:-}"

mnist=""
for dir in "$REPO/data/mnist" ${MIRROR:+"$MIRROR/mnist"}; do
  if [[ -f "$dir/t10k-labels-idx1-ubyte.gz" || -f "$dir/t10k-labels-idx1-ubyte" ]]; then mnist="$dir"; break; fi
done
[[ -n "$mnist" ]] || { echo "fuzz_corpus: no MNIST in data/mnist or \$QGRAD_DATA_MIRROR/mnist: run make data" >&2; exit 1; }

# Two JPEGs of each of three classes, from data/cifar10 or pulled out of the mirror's archive.
members=(test/airplane/0000.jpg test/airplane/0001.jpg test/cat/0000.jpg test/cat/0001.jpg
         test/ship/0000.jpg test/ship/0001.jpg)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [[ -f "$REPO/data/cifar10/${members[0]}" ]]; then
  jpg_root="$REPO/data/cifar10"
elif [[ -n "$MIRROR" && -f "$MIRROR/cifar10/cifar-10-jpg.tar.gz" ]]; then
  tar -xzf "$MIRROR/cifar10/cifar-10-jpg.tar.gz" -C "$tmp" "${members[@]}"
  jpg_root="$tmp"
else
  echo "fuzz_corpus: no CIFAR-10 JPEGs in data/cifar10 or \$QGRAD_DATA_MIRROR/cifar10: run make data" >&2
  exit 1
fi

rm -rf "$OUT"
"$BUILD/fuzz/make_seeds" "$mnist" "$OUT" "${members[@]/#/$jpg_root/}"
for dir in "$REPO"/fuzz/regressions/*/; do
  if [[ -d "$dir" ]]; then mkdir -p "$OUT/$(basename "$dir")" && cp "$dir"* "$OUT/$(basename "$dir")/"; fi
done
for dir in "$OUT"/*/; do echo "  $(basename "$dir"): $(ls "$dir" | wc -l) seeds"; done
