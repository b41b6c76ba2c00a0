#!/usr/bin/env bash
# End-to-end: a checkpoint reproduces its model bit for bit. mnist_cnn trains LeNet-5 briefly and
# saves it; `evaluate --model` rebuilds the model from the file alone and must report exactly the
# test accuracy and test loss the training program measured after its last epoch (same batches
# of 500, same thread count, so any difference in a single weight bit would show in the loss).
#   usage: checkpoint_evaluate.sh path/to/mnist_cnn path/to/evaluate
source "$(dirname "$0")/e2e_lib.sh"
MNIST_CNN="$1"
EVALUATE="$2"
require_mnist_mirror

run_logged train "$MNIST_CNN" --data "$MNIST" --limit-train 3000 --epochs 1 --threads 2 \
  --save "$WORK/lenet5.safetensors" --metrics-json "$WORK/train.json"
expect "mnist_cnn exits 0" test "$rc" -eq 0
expect "the checkpoint exists" test -s "$WORK/lenet5.safetensors"
run_logged eval "$EVALUATE" --model "$WORK/lenet5.safetensors" --data "$MNIST" --threads 2 \
  --metrics-json "$WORK/eval.json"
expect "evaluate exits 0" test "$rc" -eq 0

train_acc="$(json_get "$WORK/train.json" test_accuracy)"
eval_acc="$(json_get "$WORK/eval.json" test_accuracy)"
train_loss="$(python3 -c 'import json, sys; print(repr(json.load(open(sys.argv[1]))["epochs"][-1]["test_loss"]))' "$WORK/train.json")"
eval_loss="$(json_get "$WORK/eval.json" test_loss)"
echo "training: accuracy $train_acc, loss $train_loss; evaluate: accuracy $eval_acc, loss $eval_loss"
expect "evaluate's accuracy equals the training program's final test accuracy" test "$train_acc" = "$eval_acc"
expect "evaluate's test loss equals the training program's, to the last bit" test "$train_loss" = "$eval_loss"
printed="$(grep -o 'accuracy [0-9.]*%' "$WORK/eval.out" | head -1)"
final="$(grep -o 'test accuracy [0-9.]*%' "$WORK/train.out" | sed 's/^test //')"
expect "the printed accuracies agree ($printed / $final)" test -n "$printed" -a "$printed" = "$final"
expect "evaluate names the architecture and epoch" grep -q "(lenet5, epoch 1)" "$WORK/eval.out"
finish
