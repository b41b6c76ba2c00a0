// Training checkpoints: a model's state dict, optionally an optimizer's state and the training
// position, in one safetensors file (nn/safetensors.h).
//   model tensors      under their own names ("features.0.weight"), so the file doubles as a
//                      plain weights file for NumPy/PyTorch
//   optimizer tensors  under "optimizer.<name>" ("optimizer.0.exp_avg", "optimizer.lr")
//   __metadata__       "qgrad.format", "qgrad.epoch", "qgrad.step", "qgrad.architecture"
//                      (the model's repr()), "qgrad.crc32" (a CRC-32 per tensor, see
//                      nn/safetensors.h) plus the caller's own strings — put the
//                      architecture's name and options there so a program can rebuild the
//                      model from the file alone, e.g. {"arch": "mlp", "hidden": "128"}
#pragma once
#include <cstdint>
#include <string>

#include "nn/module.h"
#include "nn/optim/optimizer.h"
#include "nn/safetensors.h"

namespace qgrad::nn {

struct TrainingState {
  int64_t epoch = 0;
  // Optimizer steps taken. Saving with step 0 and an optimizer records the optimizer's own
  // count (Optimizer::steps()), so a trainer need not count them itself.
  int64_t step = 0;
};

struct Checkpoint {
  StateDict model;
  StateDict optimizer;  // empty when saved without one
  TrainingState training;
  Metadata metadata;  // everything in __metadata__, qgrad.* keys included
};

// Caller metadata keys must not start with "qgrad." (reserved for the keys above).
void save_checkpoint(const std::string& path, const Module& model,
                     const optim::Optimizer* optimizer = nullptr, const TrainingState& training = {},
                     const Metadata& metadata = {});

// Reads a checkpoint without a model to load it into (to inspect its metadata, say). Fails,
// naming the tensor, when a tensor's CRC-32 does not match the one recorded (a corrupted file)
// or a float tensor holds a NaN or an infinity (a diverged run). A file without checksums
// (written before they existed) loads after a one-line note on stderr.
Checkpoint read_checkpoint(const std::string& path);

// Loads the weights into model (strictly, see Module::load_state_dict) and, when given, the
// optimizer state (an error if the file has none); returns the whole checkpoint.
Checkpoint load_checkpoint(const std::string& path, Module& model,
                           optim::Optimizer* optimizer = nullptr);

}  // namespace qgrad::nn
