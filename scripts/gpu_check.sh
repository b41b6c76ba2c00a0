#!/usr/bin/env bash
# The GPU checks of the CUDA backend in one run, for a machine with an NVIDIA GPU: every CUDA test,
# the kernel-ladder and training benchmarks (make bench-cuda), and the programs end to end —
# LeNet-5 trained on the GPU and evaluated on the CPU and the GPU (same accuracy to the image),
# PTQ with the integer model on the GPU (same accuracy as on the CPU), QAT on the GPU.
#
#   bash scripts/gpu_check.sh [--bin BUILD_DIR] [--data DATA_DIR] [--out LOG_DIR] [--quick]
#
# --bin   a build with the CUDA backend (default build/); --data holds mnist/ (default data/);
# --out   one log per step plus the benchmarks' JSON (default build/gpu_check/); --quick runs the
#         short benchmark sizes. Prints one line per step (passed / FAILED / skipped) and exits 1
#         when a step failed. Without a GPU every step reports "skipped: no CUDA device".
# To run it on a GPU machine that cannot build qgrad, pack a build with scripts/gpu_bundle.sh.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
BIN=build DATA=data OUT=build/gpu_check QUICK=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --quick) QUICK=(--quick); shift ;;
    *) echo "gpu_check: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ -x "$BIN/tests/cuda/qgrad_cuda_tests" ] || { echo "gpu_check: $BIN/tests/cuda/qgrad_cuda_tests missing: not a build with the CUDA backend (-DQGRAD_CUDA=ON)" >&2; exit 2; }
[ -d "$DATA/mnist" ] || { echo "gpu_check: no MNIST in $DATA/mnist (make data)" >&2; exit 2; }
mkdir -p "$OUT"

# A bundle (scripts/gpu_bundle.sh) carries the libraries the GPU machine may lack in BIN/lib.
[ -d "$BIN/lib" ] && export LD_LIBRARY_PATH="$BIN/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The CUDA runtime libraries are found through the binaries' run path; on a machine whose toolkit
# lives elsewhere (a Python wheel's nvidia/*/lib, /usr/local/cuda-13.x), add what is missing.
if ldd "$BIN/tests/cuda/qgrad_cuda_tests" | grep -q "not found"; then
  for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13; do
    dir=$(find / -xdev -name "$lib" -printf '%h\n' 2>/dev/null | head -1)
    [ -n "$dir" ] && export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  done
  ldd "$BIN/tests/cuda/qgrad_cuda_tests" | grep "not found" >&2 && { echo "gpu_check: shared libraries missing (above)" >&2; exit 2; }
fi

failed=0
# step NAME COMMAND...: runs it with its output in OUT/NAME.log; 77 from a program means no GPU.
step() {
  local name=$1; shift
  local t0=$SECONDS rc
  "$@" > "$OUT/$name.log" 2>&1; rc=$?
  case $rc in
    0) printf '%-22s passed  (%ds)\n' "$name" $((SECONDS - t0)) ;;
    77) printf '%-22s %s\n' "$name" "$(grep -m1 'skipped' "$OUT/$name.log")" ;;
    *) printf '%-22s FAILED (exit %d, %ds): %s\n' "$name" "$rc" $((SECONDS - t0)) "$OUT/$name.log"; tail -5 "$OUT/$name.log"; failed=1 ;;
  esac
  return $rc
}
# accuracy LOG: the accuracy percentage evaluate printed on its first line.
accuracy() { grep -m1 -oE 'accuracy [0-9.]+%' "$1" | grep -oE '[0-9.]+'; }
same_accuracy() {  # NAME LOG_A LOG_B: both logs report the same accuracy
  local a b; a=$(accuracy "$2"); b=$(accuracy "$3")
  if [ -n "$a" ] && [ "$a" = "$b" ]; then printf '%-22s passed  (%s%% on both)\n' "$1" "$a"
  else printf '%-22s FAILED: %s%% vs %s%%\n' "$1" "${a:-?}" "${b:-?}"; failed=1; fi
}

command -v nvidia-smi > /dev/null && nvidia-smi > "$OUT/nvidia-smi.log" 2>&1
step cuda_tests "$BIN/tests/cuda/qgrad_cuda_tests" --durations yes
[ $? -eq 77 ] && { echo "gpu_check: no GPU here; nothing else to run"; exit 0; }
step bench_cuda_kernels "$BIN/bench/bench_cuda_kernels" --json "$OUT/bench_cuda_kernels.json" "${QUICK[@]}"
step bench_cuda_training "$BIN/bench/bench_cuda_training"

M=$OUT/models; mkdir -p "$M"
MNIST=(--data "$DATA/mnist" --threads 0)
if step mnist_cnn_gpu "$BIN/examples/mnist_cnn" "${MNIST[@]}" --device cuda --epochs 1 --save "$M/lenet5.safetensors" \
     --metrics-json "$OUT/mnist_cnn_gpu.json"; then
  step evaluate_float_cpu "$BIN/examples/evaluate" --model "$M/lenet5.safetensors" "${MNIST[@]}" --device cpu
  step evaluate_float_gpu "$BIN/examples/evaluate" --model "$M/lenet5.safetensors" "${MNIST[@]}" --device cuda
  same_accuracy float_cpu_vs_gpu "$OUT/evaluate_float_cpu.log" "$OUT/evaluate_float_gpu.log"
  if step ptq_gpu "$BIN/examples/ptq" --model "$M/lenet5.safetensors" "${MNIST[@]}" --device cuda --bits 8 \
       --save "$M/lenet5_int8.safetensors" --metrics-json "$OUT/ptq_gpu.json"; then
    step evaluate_int8_cpu "$BIN/examples/evaluate" --model "$M/lenet5_int8.safetensors" "${MNIST[@]}" --device cpu
    step evaluate_int8_gpu "$BIN/examples/evaluate" --model "$M/lenet5_int8.safetensors" "${MNIST[@]}" --device cuda
    same_accuracy int8_cpu_vs_gpu "$OUT/evaluate_int8_cpu.log" "$OUT/evaluate_int8_gpu.log"
  fi
  step qat_gpu "$BIN/examples/qat" --model "$M/lenet5.safetensors" "${MNIST[@]}" --device cuda --bits 4 --epochs 1 \
    --save "$M/lenet5_int4.safetensors" --metrics-json "$OUT/qat_gpu.json"
fi
[ $failed -eq 0 ] && echo "gpu_check: every step passed (logs in $OUT)" || echo "gpu_check: some steps FAILED (logs in $OUT)"
exit $failed
