// Flatten: merges axes start..end into one (a view when the input is contiguous), by default
// everything after the batch axis: [N, C, H, W] -> [N, C*H*W].
#pragma once
#include <string>

#include "nn/module.h"

namespace qgrad::nn {

struct FlattenOptions {
  int64_t start = 1;
  int64_t end = -1;
};

class Flatten : public Module {
 public:
  explicit Flatten(const FlattenOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& x) override { return x.flatten(options_.start, options_.end); }
  std::string type_name() const override { return "Flatten"; }
  const FlattenOptions& options() const { return options_; }
  std::string options_str() const override {
    return cat("start=", options_.start, ", end=", options_.end);
  }

 private:
  FlattenOptions options_;
};

}  // namespace qgrad::nn
