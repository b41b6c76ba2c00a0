// Copies of short byte runs, for the channels-last uint8 kernels (im2col_u8, max_pool2d_u8) whose
// runs are a few pixels of a few channels: 5 bytes for a 1-channel 5x5 kernel row, 6 for one
// pixel of LeNet's first conv output, 30 for a 6-channel kernel row. A library memcpy or a byte
// loop per run costs more than the copy itself; fixed-size memcpy calls compile to single
// unaligned loads and stores.
#pragma once
#include <cstdint>
#include <cstring>

namespace qgrad::quant::detail {

// Exactly n bytes. Two fixed-size copies that overlap in the middle cover any length between w
// and 2w with single loads and stores, and never touch a byte outside [0, n) of either side.
inline void copy_run(uint8_t* dst, const uint8_t* src, int64_t n) {
  if (n >= 32) {
    std::memcpy(dst, src, static_cast<size_t>(n));
  } else if (n >= 16) {
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// n bytes as ceil(n / W) copies of W bytes: reads and writes up to W - 1 bytes PAST src + n and
// dst + n. Harmless where runs are written in increasing address order into one buffer (the
// bytes written past a run belong to the runs written after it, which overwrite them with their
// own values) and the caller has checked both ends. No length tests: one load and one store
// when n <= W.
template <int W>
inline void copy_run_over(uint8_t* dst, const uint8_t* src, int64_t n) {
  for (int64_t i = 0; i < n; i += W) std::memcpy(dst + i, src + i, W);
}

}  // namespace qgrad::quant::detail
