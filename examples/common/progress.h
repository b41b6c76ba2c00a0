// A one-line progress bar for training loops:
//   epoch 1/3 [#########.........]  450/938  loss 0.2311  acc 93.1%  5120 samples/s  eta 9s
// On a terminal it redraws in place; when output goes to a file or pipe it prints a line every
// 10% so logs stay short.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace qgrad::examples {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total_steps);
  // After step `done` (1-based): running mean loss and accuracy, samples seen so far.
  void update(int64_t done, double loss, double accuracy, int64_t samples);
  void finish();  // ends the line
  double seconds() const;

 private:
  std::string label_;
  int64_t total_;
  int64_t last_printed_decile_ = -1;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace qgrad::examples
