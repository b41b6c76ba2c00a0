// The MNIST training programs (mnist_mlp, mnist_cnn): flags, data, model, SGD with momentum and
// a cosine learning-rate decay, the epoch loop (train_epoch, evaluate, log, checkpoint), and
// --resume. The two programs differ only in the model and the default learning rate.
//   build/examples/mnist_cnn --epochs 3 --save lenet5.safetensors --metrics-json lenet5.json
// The checkpoint records the architecture ("arch"), so `evaluate` and the quantization programs
// rebuild the model from the file alone.
#pragma once
#include <string>

namespace qgrad::examples {

// Runs the program; returns its exit code (errors are printed, prefixed by program).
int run_mnist_training(const std::string& program, const std::string& arch, double default_lr, int argc,
                       char** argv);

}  // namespace qgrad::examples
