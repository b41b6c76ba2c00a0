// The training loop, written out once for every program that trains: one pass over the training
// set, batch by batch —
//   logits = model(images); loss = criterion(logits, labels);
//   opt.zero_grad(); loss.backward(); opt.step();
// — with the progress bar and the running loss/accuracy around it.
#pragma once
#include <cstdint>

#include "datasets/data_loader.h"
#include "examples/common/task.h"
#include "nn/module.h"
#include "nn/optim/lr_schedule.h"
#include "nn/optim/optimizer.h"

namespace qgrad::examples {

struct EpochResult {
  RunningStats stats;
  double seconds = 0;
};

// Trains model for epoch (0-based) of epochs: sets train mode and the loader's epoch (its
// shuffle), then runs every batch through the step above. per_step, when given, is a schedule
// counted in optimizer steps: step(opt) after every batch (the trainers' own schedules count
// epochs and are stepped by the caller).
EpochResult train_epoch(nn::Module& model, data::DataLoader& loader, optim::Optimizer& opt, int64_t epoch,
                        int64_t epochs, optim::LRSchedule* per_step = nullptr);

}  // namespace qgrad::examples
