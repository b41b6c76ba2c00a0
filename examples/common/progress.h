// The one-line progress bar of a training loop, with the running mean loss and accuracy of the
// epoch's batches so far (RunningStats):
//   epoch 1/3 [#########.........]  450/938  loss 0.2311  acc 93.1%  5120 samples/s  eta 9s
// On a terminal the bar redraws in place; when output goes to a file or pipe it prints a line
// every 10% so logs stay short.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "examples/common/task.h"  // RunningStats

namespace qgrad::examples {

class ProgressBar {
 public:
  // The bar of epoch (1-based) of epochs, which has `steps` batches.
  ProgressBar(int64_t epoch, int64_t epochs, size_t steps);
  // After each step: redraws with the running statistics.
  void update(const RunningStats& stats);
  void finish();  // ends the line
  double seconds() const;

 private:
  std::string label_;
  int64_t total_, done_ = 0;
  int64_t last_printed_decile_ = -1;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace qgrad::examples
