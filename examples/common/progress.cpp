#include "examples/common/progress.h"

#include <unistd.h>

#include <cstdio>

namespace qgrad::examples {

ProgressBar::ProgressBar(int64_t epoch, int64_t epochs, size_t steps)
    : label_("epoch " + std::to_string(epoch) + "/" + std::to_string(epochs)), total_(static_cast<int64_t>(steps)),
      tty_(isatty(fileno(stderr)) != 0), start_(std::chrono::steady_clock::now()) {}

double ProgressBar::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(const RunningStats& stats) {
  const int64_t done = ++done_;
  const int64_t decile = total_ > 0 ? done * 10 / total_ : 10;
  if (!tty_ && decile == last_printed_decile_) return;
  last_printed_decile_ = decile;
  constexpr int kWidth = 20;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : kWidth;
  const double secs = seconds();
  const double rate = secs > 0 ? stats.seen / secs : 0;
  const double eta = done > 0 ? secs * (total_ - done) / done : 0;
  std::fprintf(stderr, "%s%s [%.*s%.*s] %5lld/%lld  loss %.4f  acc %5.1f%%  %6.0f samples/s  eta %3.0fs%s",
               tty_ ? "\r" : "", label_.c_str(), filled, "####################", kWidth - filled,
               "....................", static_cast<long long>(done), static_cast<long long>(total_),
               stats.loss(), 100.0 * stats.accuracy(), rate, eta, tty_ ? "" : "\n");
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace qgrad::examples
