#!/usr/bin/env bash
# End-to-end: bad command lines give a clear message and a non-zero exit. For mnist_mlp: a
# non-integer --epochs, a non-number --lr, an unknown flag, a flag without its value, a --data
# folder without MNIST; for evaluate: no --model. Each must exit non-zero (not by a signal) and
# say on stderr what was wrong, naming the flag, value or folder.
#   usage: bad_flags.sh path/to/mnist_mlp path/to/evaluate
source "$(dirname "$0")/e2e_lib.sh"
MNIST_MLP="$1"
EVALUATE="$2"
require_mnist_mirror

# bad_command NAME EXPECTED_TEXT COMMAND...: the command must fail cleanly and print EXPECTED_TEXT
bad_command() {
  local name="$1" text="$2"; shift 2
  run_logged "$name" "$@"
  expect "$name: exits non-zero" test "$rc" -ne 0
  expect "$name: exits cleanly, not by a signal (exit $rc)" test "$rc" -lt 128
  expect "$name: stderr says '$text'" grep -qF -- "$text" "$WORK/$name.err"
}

bad_command epochs_abc "--epochs expects an integer, got 'abc'" \
  "$MNIST_MLP" --data "$MNIST" --limit-train 64 --threads 2 --epochs abc
bad_command lr_abc "--lr expects a number, got 'abc'" \
  "$MNIST_MLP" --data "$MNIST" --limit-train 64 --threads 2 --lr abc
bad_command unknown_flag "unknown flag --bogus" "$MNIST_MLP" --bogus 1
bad_command missing_value "--epochs needs a value" "$MNIST_MLP" --epochs
bad_command stray_argument "unexpected argument 'oops'" "$MNIST_MLP" oops
bad_command missing_data "$WORK/no_such_dir/train-images-idx3-ubyte" \
  "$MNIST_MLP" --data "$WORK/no_such_dir" --threads 2
expect "missing_data: the message says how to fetch the data" grep -q "fetch_data.sh" "$WORK/missing_data.err"
bad_command evaluate_no_model "--model FILE is required" "$EVALUATE"
finish
