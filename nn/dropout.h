// Dropout (inverted): in training, each element is kept with probability 1 - p and scaled by
// 1 / (1 - p), so the expected output equals the input and evaluation needs no rescaling:
//   y = x * m / (1 - p),  m_i ~ Bernoulli(1 - p)          (train)
//   y = x                                                 (eval, or p = 0)
// p = 1 drops everything (y = 0). The mask comes from the layer's own Generator, seeded once
// from the generator passed at construction, so a run is reproducible given that seed.
#pragma once
#include <string>

#include "core/random.h"
#include "nn/module.h"

namespace qgrad::nn {

struct DropoutOptions {
  float p = 0.5f;
};

class Dropout : public Module {
 public:
  explicit Dropout(const DropoutOptions& options = {}, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string options_str() const override { return cat("p=", options_.p); }

 private:
  DropoutOptions options_;
  Generator gen_;
};

}  // namespace qgrad::nn
