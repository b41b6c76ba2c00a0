#!/usr/bin/env bash
# End-to-end: --resume continues training exactly. Train 1 epoch saving A, resume from A to
# epoch 2 saving B; train 2 epochs straight saving C. B and C must hold identical tensors (the
# weights and the optimizer's momentum buffers) and, since everything else in the file is
# deterministic too, be byte-identical; and both runs must report the same final accuracy.
#   usage: resume.sh path/to/mnist_cnn
source "$(dirname "$0")/e2e_lib.sh"
MNIST_CNN="$1"
require_mnist_mirror
COMMON=(--data "$MNIST" --limit-train 2000 --threads 2 --seed 3)

run_logged first "$MNIST_CNN" "${COMMON[@]}" --epochs 1 --save "$WORK/A.safetensors"
expect "epoch 1 exits 0" test "$rc" -eq 0
run_logged resumed "$MNIST_CNN" "${COMMON[@]}" --epochs 2 --resume "$WORK/A.safetensors" --save "$WORK/B.safetensors"
expect "the resumed run exits 0" test "$rc" -eq 0
expect "the resumed run trains only epoch 2" test "$(grep -c '^epoch [0-9]*:' "$WORK/resumed.out")" = 1
run_logged straight "$MNIST_CNN" "${COMMON[@]}" --epochs 2 --save "$WORK/C.safetensors"
expect "the straight run exits 0" test "$rc" -eq 0

expect "B and C hold identical tensors and metadata" python3 "$E2E_DIR/safetensors_diff.py" "$WORK/B.safetensors" "$WORK/C.safetensors"
expect "B and C are byte-identical" cmp "$WORK/B.safetensors" "$WORK/C.safetensors"
expect "A differs from C (epoch 2 changed the weights)" bash -c '! python3 "$1" "$2" "$3" >/dev/null' _ \
  "$E2E_DIR/safetensors_diff.py" "$WORK/A.safetensors" "$WORK/C.safetensors"
expect "both runs print the same final line" test "$(grep '^final:' "$WORK/resumed.out" | sed 's/, saved to.*//')" = \
  "$(grep '^final:' "$WORK/straight.out" | sed 's/, saved to.*//')"
finish
