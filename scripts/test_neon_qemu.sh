#!/usr/bin/env bash
# Cross-compiles the qgemm kernels for aarch64 and runs their exactness sweep under qemu-aarch64
# twice: on a CPU model with the dot product (-cpu max: neon and neon_dot are tested) and on one
# without (-cpu cortex-a53, Armv8.0: neon is tested, neon_dot must report itself unsupported).
# Needs the Debian packages g++-aarch64-linux-gnu and qemu-user; exits 77 (CTest "skipped")
# when either is missing, unless QGRAD_REQUIRE_NEON=1 (set by .ci/run), which makes that a failure.
#   usage: scripts/test_neon_qemu.sh [build_dir]     (default: build/neon-qemu)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/neon-qemu}"
cxx=aarch64-linux-gnu-g++
sysroot=/usr/aarch64-linux-gnu
for tool in "$cxx" qemu-aarch64; do
  if ! command -v "$tool" > /dev/null; then
    echo "SKIP: $tool not found (sudo apt-get install g++-aarch64-linux-gnu qemu-user)"
    [[ "${QGRAD_REQUIRE_NEON:-0}" == 1 ]] && exit 1
    exit 77
  fi
done
mkdir -p "$out"
flags=(-std=c++20 -O2 -Wall -Wextra -fopenmp -I"$root" -I"$root/tests")
objs=()
# core/parallel.cpp and core/threads.cpp: the thread pool the kernels run on.
for src in "$root"/quant/kernels/*.cpp "$root/core/parallel.cpp" "$root/core/threads.cpp" \
           "$root/tests/kernel/neon_cross_test.cpp"; do
  extra=()
  # The only ISA flag, and only on its own file, as in CMakeLists.txt.
  [[ "$(basename "$src")" == qgemm_neon_dot.cpp ]] && extra=(-march=armv8.2-a+dotprod)
  obj="$out/$(basename "$src" .cpp).o"
  "$cxx" "${flags[@]}" "${extra[@]}" -c "$src" -o "$obj"
  objs+=("$obj")
done
"$cxx" -fopenmp "${objs[@]}" -o "$out/neon_cross_test"

status=0
for cpu in max cortex-a53; do
  echo "== qemu-aarch64 -cpu $cpu"
  QGRAD_VERBOSE=1 OMP_NUM_THREADS=2 qemu-aarch64 -cpu "$cpu" -L "$sysroot" "$out/neon_cross_test" || status=1
done
exit $status
