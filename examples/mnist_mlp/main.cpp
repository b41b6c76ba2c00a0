// mnist_mlp: trains a 784-256-128-10 MLP on MNIST (SGD + momentum, cosine learning-rate decay,
// default lr 0.05).
//   build/examples/mnist_mlp --epochs 3 --save mlp.safetensors --metrics-json mlp.json
// The program is examples/common/mnist_training.cpp; the training loop is examples/common/train.cpp.
#include "examples/common/mnist_training.h"

int main(int argc, char** argv) { return qgrad::examples::run_mnist_training("mnist_mlp", "mlp", 0.05, argc, argv); }
