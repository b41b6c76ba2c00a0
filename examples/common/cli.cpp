#include "examples/common/cli.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/error.h"

namespace qgrad::examples {

Flags& Flags::add(const std::string& name, const std::string& default_value, const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{default_value, help};
  return *this;
}

std::string Flags::usage() const {
  std::string u = "usage: " + program_ + " [flags]\n";
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    u += "  --" + name + " (default: " + (s.value.empty() ? "none" : s.value) + ")  " + s.help + "\n";
  }
  return u;
}

void Flags::parse(int argc, char** argv) {
  program_ = argc > 0 ? argv[0] : "program";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage();
      std::exit(0);
    }
    check(arg.rfind("--", 0) == 0, "flags", "unexpected argument '", arg, "'\n", usage());
    std::string name = arg.substr(2), value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else {
      check(i + 1 < argc, "flags", "--", name, " needs a value");
      value = argv[++i];
    }
    auto it = specs_.find(name);
    check(it != specs_.end(), "flags", "unknown flag --", name, "\n", usage());
    it->second.value = value;
    it->second.given = true;
  }
}

const Flags::Spec& Flags::spec(const std::string& name) const {
  auto it = specs_.find(name);
  check(it != specs_.end(), "flags", "no flag --", name, " was declared");
  return it->second;
}

std::string Flags::str(const std::string& name) const { return spec(name).value; }
bool Flags::given(const std::string& name) const { return spec(name).given; }

int64_t Flags::integer(const std::string& name) const {
  const std::string& v = spec(name).value;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  check(!v.empty() && *end == '\0', "flags", "--", name, " expects an integer, got '", v, "'");
  return x;
}

double Flags::real(const std::string& name) const {
  const std::string& v = spec(name).value;
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  check(!v.empty() && *end == '\0', "flags", "--", name, " expects a number, got '", v, "'");
  return x;
}

std::string data_dir(const Flags& flags, const std::string& dataset) {
  return flags.given("data") ? flags.str("data") : "data/" + dataset;
}

Flags training_flags(const std::string& default_data, int64_t default_epochs, int64_t default_batch,
                     double default_lr) {
  Flags f;
  f.add("data", default_data, "folder holding the data set's files")
      .add("epochs", std::to_string(default_epochs), "passes over the training set")
      .add("batch-size", std::to_string(default_batch), "samples per step")
      .add("lr", std::to_string(default_lr), "learning rate")
      .add("threads", "0", "threads for OpenMP and OpenBLAS (0: QGRAD_NUM_THREADS or all cores)")
      .add("seed", "0", "seed for initialization, shuffling and augmentation")
      .add("save", "", "write the trained model to this checkpoint (.safetensors)")
      .add("metrics-json", "", "write per-epoch metrics to this JSON file")
      .add("limit-train", "0", "use only N training samples, spread evenly over the set (0: all)");
  return f;
}

}  // namespace qgrad::examples
