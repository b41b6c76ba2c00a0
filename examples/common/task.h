// What the example programs share besides the training loop itself (which each main.cpp writes
// out in full): loading a data set by name with its normalization, evaluating a classifier,
// and writing metrics as JSON for the notebooks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/data_loader.h"
#include "datasets/dataset.h"
#include "nn/module.h"

namespace qgrad::examples {

// MNIST or CIFAR-10 from dir (see --data), one split.
data::Dataset load_dataset(const std::string& name, const std::string& dir, data::Split split);
// The per-channel mean/std the programs normalize with (computed on each training set).
data::DataLoaderOptions loader_options(const std::string& name, int64_t batch_size);

struct Evaluation {
  double accuracy = 0;
  double loss = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
};

// Runs model in eval mode without a graph over the whole loader; restores the mode after.
Evaluation evaluate(nn::Module& model, const data::DataLoader& loader, int64_t num_classes);

// Sets the thread count from --threads (0 keeps QGRAD_NUM_THREADS / all cores); returns it.
int apply_threads(int64_t threads);

// Writes json to path atomically (no-op when path is empty).
void write_json(const std::string& path, const nlohmann::json& json);

}  // namespace qgrad::examples
