#!/usr/bin/env bash
# End-to-end: bad command lines give a clear message and a non-zero exit, before any work. For
# mnist_mlp: a non-integer --epochs, a non-number --lr, an unknown flag, a flag without its
# value, a --data folder without MNIST, integers out of range (they used to wrap: --threads
# 4294967297 ran with 1 thread, a 23-digit --epochs became INT64_MAX, a negative --threads or
# --limit-train meant "default"), a non-finite --lr, --momentum >= 1, a --save into a folder that
# does not exist (found only after the first epoch before); for cifar_cnn: --epochs 0; for
# evaluate: no --model, a folder as --model; for qat: --epochs -2 (trained 0 epochs); for
# inspect: --bins 2000000000 (allocated without limit); --device: an unknown name, cuda for a
# CPU-only program, cuda without a GPU. Each must exit non-zero (not by a
# signal) and say on stderr what was wrong, naming the flag, value or path.
#   usage: bad_flags.sh path/to/mnist_mlp path/to/evaluate path/to/cifar_cnn path/to/qat path/to/inspect
source "$(dirname "$0")/e2e_lib.sh"
MNIST_MLP="$1"
EVALUATE="$2"
CIFAR_CNN="$3"
QAT="$4"
INSPECT="$5"
require_mnist_mirror

# bad_command NAME EXPECTED_TEXT COMMAND...: the command must fail cleanly and print EXPECTED_TEXT
bad_command() {
  local name="$1" text="$2"; shift 2
  run_logged "$name" "$@"
  expect "$name: exits non-zero" test "$rc" -ne 0
  expect "$name: exits cleanly, not by a signal (exit $rc)" test "$rc" -lt 128
  expect "$name: stderr says '$text'" grep -qF -- "$text" "$WORK/$name.err"
}

bad_command epochs_abc "--epochs: expects an integer from 1 to 1000000, got 'abc'" \
  "$MNIST_MLP" --data "$MNIST" --limit-train 64 --threads 2 --epochs abc
bad_command lr_abc "--lr: expects a number, got 'abc'" \
  "$MNIST_MLP" --data "$MNIST" --limit-train 64 --threads 2 --lr abc
bad_command unknown_flag "--bogus" "$MNIST_MLP" --bogus 1
bad_command missing_value "--epochs: 1 required" "$MNIST_MLP" --epochs
bad_command stray_argument "not expected: oops" "$MNIST_MLP" oops
bad_command missing_data "$WORK/no_such_dir/train-images-idx3-ubyte" \
  "$MNIST_MLP" --data "$WORK/no_such_dir" --threads 2
expect "missing_data: the message says how to fetch the data" grep -q "fetch_data.sh" "$WORK/missing_data.err"

# Ranges: each is refused while parsing, before the data is read (a bad --data would fail later).
NO_DATA=(--data "$WORK/no_such_dir")
bad_command threads_wrap "--threads: expects an integer from 0 to 1024, got 4294967297" \
  "$MNIST_MLP" "${NO_DATA[@]}" --threads 4294967297
bad_command threads_negative "--threads: expects an integer from 0 to 1024, got -3" \
  "$MNIST_MLP" "${NO_DATA[@]}" --threads -3
bad_command epochs_huge "--epochs: expects an integer from 1 to 1000000, got 12345678901234567890123" \
  "$MNIST_MLP" "${NO_DATA[@]}" --epochs 12345678901234567890123
bad_command limit_train_negative "--limit-train: expects an integer from 0 to" \
  "$MNIST_MLP" "${NO_DATA[@]}" --limit-train -5
bad_command seed_negative "--seed: expects an integer from 0 to" "$MNIST_MLP" "${NO_DATA[@]}" --seed -1
bad_command lr_inf "--lr: expects a finite number in (0, 1e+06], got inf" "$MNIST_MLP" "${NO_DATA[@]}" --lr inf
bad_command momentum_1_5 "--momentum: expects a finite number in [0, 1), got 1.5" \
  "$MNIST_MLP" "${NO_DATA[@]}" --momentum 1.5
bad_command save_no_folder "cannot write $WORK/no_such_dir/m.safetensors: the folder $WORK/no_such_dir does not exist" \
  "$MNIST_MLP" --data "$MNIST" --limit-train 64 --threads 2 --save "$WORK/no_such_dir/m.safetensors"
expect "save_no_folder: no epoch ran" test ! -s "$WORK/save_no_folder.out"
bad_command cifar_epochs_0 "--epochs: expects an integer from 1 to 1000000, got 0" "$CIFAR_CNN" --epochs 0

bad_command evaluate_no_model "--model is required" "$EVALUATE"
# --device: an unknown name; a CPU-only program asked for cuda; cuda where no GPU is visible (or
# in a build without the CUDA backend) fails before any data is read, saying why.
bad_command device_unknown "--device: tpu not in {cpu,cuda}" "$MNIST_MLP" "${NO_DATA[@]}" --device tpu
bad_command inspect_device_cuda "--device cuda is not supported: this program runs on the CPU only" \
  "$INSPECT" --device cuda --model "$0"
if ! nvidia-smi -L >/dev/null 2>&1; then
  bad_command device_cuda_no_gpu "device 'cuda' is not available" "$MNIST_MLP" "${NO_DATA[@]}" --device cuda
fi
bad_command evaluate_model_dir "--model: $WORK is a directory, not a file" "$EVALUATE" --model "$WORK"
bad_command evaluate_model_missing "--model: no such file: $WORK/none.safetensors" \
  "$EVALUATE" --model "$WORK/none.safetensors"
touch "$WORK/empty.safetensors"  # exists: the flags are refused before the file is read
bad_command qat_epochs_negative "--epochs: expects an integer from 1 to 1000000, got -2" \
  "$QAT" --model "$WORK/empty.safetensors" --epochs -2
bad_command qat_act_bits_negative "--act-bits: expects an integer from 0 to 8, got -1" \
  "$QAT" --model "$WORK/empty.safetensors" --act-bits -1
bad_command inspect_bins_huge "--bins: expects an integer from 1 to 100000, got 2000000000" \
  "$INSPECT" --model "$WORK/empty.safetensors" --bins 2000000000
finish
