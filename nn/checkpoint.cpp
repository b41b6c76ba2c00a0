#include "nn/checkpoint.h"

#include <charconv>
#include <cstdio>

namespace qgrad::nn {

namespace {

const std::string kOptimizerPrefix = "optimizer.";
const std::string kReserved = "qgrad.";
constexpr const char* kFormat = "qgrad-checkpoint-1";

int64_t parse_int(const Metadata& m, const std::string& key, const std::string& path) {
  auto it = m.find(key);
  check(it != m.end(), "read_checkpoint", path, ": metadata has no '", key, "'");
  int64_t v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  check(ec == std::errc() && end == s.data() + s.size(), "read_checkpoint", path, ": metadata '",
        key, "' = '", s, "' is not an integer");
  return v;
}

}  // namespace

void save_checkpoint(const std::string& path, const Module& model,
                     const optim::Optimizer* optimizer, const TrainingState& training,
                     const Metadata& metadata) {
  StateDict all = model.state_dict();
  for (const auto& [name, t] : all)
    check(name.rfind(kOptimizerPrefix, 0) != 0, "save_checkpoint", path, ": model tensor '", name,
          "' collides with the optimizer's '", kOptimizerPrefix, "' namespace");
  if (optimizer)
    for (const auto& [name, t] : optimizer->state_dict()) all[kOptimizerPrefix + name] = t;
  Metadata meta;
  for (const auto& [key, value] : metadata) {
    check(key.rfind(kReserved, 0) != 0, "save_checkpoint", path, ": metadata key '", key,
          "' uses the reserved prefix '", kReserved, "'");
    meta[key] = value;
  }
  meta["qgrad.format"] = kFormat;
  meta["qgrad.epoch"] = std::to_string(training.epoch);
  meta["qgrad.step"] = std::to_string(training.step != 0 || !optimizer ? training.step : optimizer->steps());
  meta["qgrad.architecture"] = model.repr();
  meta[kChecksumKey] = tensor_checksums(all);
  save_safetensors(path, all, meta);
}

Checkpoint read_checkpoint(const std::string& path) {
  const char* op = "read_checkpoint";
  SafeTensors file = load_safetensors(path);
  auto format = file.metadata.find("qgrad.format");
  check(format != file.metadata.end() && format->second == kFormat, "read_checkpoint", path,
        ": not a qgrad checkpoint (metadata 'qgrad.format' is ",
        format == file.metadata.end() ? std::string("missing") : "'" + format->second + "'",
        ", expected '", kFormat, "')");
  if (!verify_tensor_checksums(file, op, path))
    std::fprintf(stderr, "note: %s carries no checksums (written before qgrad recorded '%s'); loading it unverified\n",
                 path.c_str(), kChecksumKey);
  // A NaN or infinite weight (or optimizer moment) comes from a run that diverged; loading it
  // would only spread NaN through every output, so it is refused here, naming the tensor.
  for (const auto& [name, t] : file.tensors) {
    const int64_t bad = first_non_finite(t);
    check(bad < 0, op, path, ": tensor '", name, "' holds a non-finite value (",
          bad < 0 ? 0.f : t.contiguous().data<float>()[bad], " at flat index ", bad,
          "): the run that saved it diverged");
  }
  Checkpoint ck;
  for (auto& [name, t] : file.tensors) {
    if (name.rfind(kOptimizerPrefix, 0) == 0)
      ck.optimizer[name.substr(kOptimizerPrefix.size())] = t;
    else
      ck.model[name] = t;
  }
  ck.training.epoch = parse_int(file.metadata, "qgrad.epoch", path);
  ck.training.step = parse_int(file.metadata, "qgrad.step", path);
  ck.metadata = std::move(file.metadata);
  return ck;
}

Checkpoint load_checkpoint(const std::string& path, Module& model, optim::Optimizer* optimizer) {
  Checkpoint ck = read_checkpoint(path);
  model.load_state_dict(ck.model);
  if (optimizer) {
    check(!ck.optimizer.empty(), "load_checkpoint", path, ": the file holds no optimizer state");
    optimizer->load_state_dict(ck.optimizer);
  }
  return ck;
}

}  // namespace qgrad::nn
