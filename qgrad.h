// The umbrella header: everything a program needs, in one include.
#pragma once
#include "core/autograd.h"
#include "core/device.h"
#include "core/ops/activation.h"
#include "core/ops/conv.h"
#include "core/ops/elementwise.h"
#include "core/ops/loss.h"
#include "core/ops/matmul.h"
#include "core/ops/movement.h"
#include "core/ops/normalization.h"
#include "core/ops/pool.h"
#include "core/ops/reduce.h"
#include "core/ops/softmax.h"
#include "core/random.h"
#include "core/tensor.h"
#include "core/threads.h"

// --- datasets (qgrad::data) ---
#include "datasets/cifar10.h"
#include "datasets/data_loader.h"
#include "datasets/dataset.h"
#include "datasets/image_folder.h"
#include "datasets/mnist.h"

// --- nn (qgrad::nn, qgrad::optim) ---
#include "nn/nn.h"

// --- quant (qgrad::quant) ---
#include "quant/quant.h"
