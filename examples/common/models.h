// The example programs' models, by name. A checkpoint records the name in its metadata
// ("arch"), so evaluate and the quantization programs rebuild the model from the file alone.
//   mlp        MNIST  784-256-128-10, ReLU
//   lenet5     MNIST  conv 1->6 k5 pad 2, ReLU, maxpool 2 -> conv 6->16 k5, ReLU, maxpool 2
//                     -> fc 400-120-84-10 (ReLU), i.e. LeNet-5 with ReLU and max-pooling
//   cifar_cnn  CIFAR-10, VGG-style: 3 stages of [conv3x3-BN-ReLU] x 2 + maxpool
//                     (32, 64, 128 channels), global average pool, fc 128-10
//   mobilenet  CIFAR-10, MobileNet-style: stem conv3x3 3->16-BN-ReLU, then 5 depthwise-separable
//                     blocks [depthwise conv3x3 (groups = channels)-BN-ReLU, pointwise conv1x1-BN-ReLU]
//                     16->32, 32->64 /2, 64->64, 64->128 /2, 128->128 (/2: stride 2 in the
//                     depthwise conv), global average pool, fc 128-10
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "datasets/dataset.h"
#include "nn/sequential.h"

namespace qgrad::examples {

std::shared_ptr<nn::Sequential> make_model(const std::string& arch, uint64_t seed);
// "mnist" or "cifar10": the data set a model is trained on.
std::string dataset_of(const std::string& arch);

}  // namespace qgrad::examples
