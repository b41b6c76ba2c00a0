#!/usr/bin/env bash
# End-to-end: a bad QGRAD_NUM_THREADS (not an integer, 0, too large) never aborts a program from
# start-up: --help still works, a run without --threads fails cleanly naming the variable and the
# value, and --threads N overrides the variable. Needs no data set.
#   usage: thread_env.sh path/to/mnist_mlp
source "$(dirname "$0")/e2e_lib.sh"
MNIST_MLP="$1"

for bad in abc 0 2000; do
  QGRAD_NUM_THREADS="$bad" run_logged "help_$bad" "$MNIST_MLP" --help
  expect "QGRAD_NUM_THREADS=$bad: --help exits 0 (exit $rc)" test "$rc" -eq 0
  expect "QGRAD_NUM_THREADS=$bad: --help prints the flags" grep -q -- "--threads" "$WORK/help_$bad.out"

  QGRAD_NUM_THREADS="$bad" run_logged "run_$bad" "$MNIST_MLP" --data "$WORK/no_data"
  expect "QGRAD_NUM_THREADS=$bad: a run exits non-zero" test "$rc" -ne 0
  expect "QGRAD_NUM_THREADS=$bad: exits cleanly, not by a signal (exit $rc)" test "$rc" -lt 128
  expect "QGRAD_NUM_THREADS=$bad: stderr names the variable and the value" \
    grep -qF "QGRAD_NUM_THREADS: expected an integer from 1 to 1024, got '$bad'" "$WORK/run_$bad.err"

  # --threads replaces the bad value: the run gets as far as looking for its data.
  QGRAD_NUM_THREADS="$bad" run_logged "override_$bad" "$MNIST_MLP" --threads 1 --data "$WORK/no_data"
  expect "QGRAD_NUM_THREADS=$bad --threads 1: fails only on the missing data" \
    grep -qF "$WORK/no_data/train-images-idx3-ubyte" "$WORK/override_$bad.err"
done
finish
