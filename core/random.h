// Seedable random numbers. std::mt19937_64's output is fixed by the C++ standard, but the
// standard distributions are not, so uniform and normal samples are derived here by hand:
// the same seed gives the same tensors with every compiler and standard library.
#pragma once
#include <cstdint>
#include <random>

namespace qgrad {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : engine_(seed) {}
  void seed(uint64_t s) { engine_.seed(s); }
  uint64_t next_u64() { return engine_(); }
  // Uniform in [0, 1): the top 24 bits of one draw, exactly representable in float32.
  float uniform() { return static_cast<float>(engine_() >> 40) * 0x1.0p-24f; }
  // Standard normal by Box–Muller: z = sqrt(-2 ln u1) cos(2 pi u2), u1 in (0, 1].
  float normal();
  // Uniform integer in [0, n) (n > 0), by rejection so there is no modulo bias.
  uint64_t below(uint64_t n);

 private:
  std::mt19937_64 engine_;
};

// The generator factories use when none is passed; manual_seed resets it.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace qgrad
