#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh runs into one archive for a GPU machine that cannot build qgrad
# (no compiler toolchain or -dev packages there, no network): the CUDA tests, the CUDA benchmarks,
# the programs gpu_check drives, the shared libraries they need beyond the C library and the
# CUDA toolkit (OpenBLAS, libjpeg, libgomp, libstdc++, ...), MNIST and gpu_check.sh itself.
#
#   bash scripts/gpu_bundle.sh ARCHIVE.tar.xz [--bin BUILD_DIR]
#
# On the GPU machine:  mkdir q && tar -xJf ARCHIVE.tar.xz -C q && bash q/scripts/gpu_check.sh \
#                        --bin q/build --data q/data --out LOG_DIR
# The CUDA libraries (cudart, cuBLAS, cuBLASLt) come from that machine's toolkit; gpu_check.sh
# looks for them when the binaries' run path misses them.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bash scripts/gpu_bundle.sh ARCHIVE.tar.xz [--bin BUILD_DIR]" >&2; exit 2; }
ARCHIVE=$(realpath -m "$1"); shift
BIN=build
[ "${1:-}" = --bin ] && BIN=$2
PROGRAMS=(tests/cuda/qgrad_cuda_tests bench/bench_cuda_kernels bench/bench_cuda_training
          examples/mnist_cnn examples/evaluate examples/ptq examples/qat)
for p in "${PROGRAMS[@]}"; do
  [ -x "$BIN/$p" ] || { echo "gpu_bundle: $BIN/$p missing: build with the CUDA backend first (make, QGRAD_CUDA=AUTO finds nvcc)" >&2; exit 1; }
done
[ -d data/mnist ] || { echo "gpu_bundle: data/mnist missing (make data)" >&2; exit 1; }

STAGE=$(mktemp -d); trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/build/lib" "$STAGE/scripts" "$STAGE/data"
for p in "${PROGRAMS[@]}"; do
  mkdir -p "$STAGE/build/$(dirname "$p")"
  cp "$BIN/$p" "$STAGE/build/$p"
done
# Every library ldd resolves, except the C library's own (always there, and tied to the loader)
# and the CUDA toolkit's (tied to the GPU driver: the target machine's must be used).
for p in "${PROGRAMS[@]}"; do ldd "$BIN/$p"; done | awk '$3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    case "$name" in
      libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libcuda*|libcublas*) ;;  # libcuda* takes libcudart too
      *) cp -L "$path" "$STAGE/build/lib/$name" ;;
    esac
  done
cp scripts/gpu_check.sh "$STAGE/scripts/"
cp -r data/mnist "$STAGE/data/"
tar -cJf "$ARCHIVE" -C "$STAGE" .
echo "gpu_bundle: $ARCHIVE ($(du -h "$ARCHIVE" | cut -f1)): $(find "$STAGE/build/lib" -type f -printf "%f ")"
