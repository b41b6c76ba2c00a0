// mnist_cnn: trains LeNet-5 on MNIST (SGD + momentum, cosine learning-rate decay, default lr 0.02).
//   build/examples/mnist_cnn --epochs 3 --save lenet5.safetensors --metrics-json lenet5.json
// The program is examples/common/mnist_training.cpp; the training loop is examples/common/train.cpp.
#include "examples/common/mnist_training.h"

int main(int argc, char** argv) { return qgrad::examples::run_mnist_training("mnist_cnn", "lenet5", 0.02, argc, argv); }
