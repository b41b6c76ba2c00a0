// Command-line flags shared by the example programs: `--name value` pairs parsed into a struct,
// with an error naming the flag for anything unknown or malformed, and `--help`.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qgrad::examples {

class Flags {
 public:
  // Declares a flag with its default (as text) and a one-line description.
  Flags& add(const std::string& name, const std::string& default_value, const std::string& help);
  // Parses argv; prints usage and exits 0 on --help; throws qgrad::Error on a bad flag.
  void parse(int argc, char** argv);

  std::string str(const std::string& name) const;
  int64_t integer(const std::string& name) const;  // fails unless the whole value is an integer
  double real(const std::string& name) const;
  bool given(const std::string& name) const;  // set on the command line (not just defaulted)

 private:
  struct Spec {
    std::string value, help;
    bool given = false;
  };
  std::string program_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  const Spec& spec(const std::string& name) const;
  std::string usage() const;
};

// --data when given, else data/<dataset> (where `make data` puts it).
std::string data_dir(const Flags& flags, const std::string& dataset);

// The flags every training program takes (the common set).
Flags training_flags(const std::string& default_data, int64_t default_epochs, int64_t default_batch,
                     double default_lr);

}  // namespace qgrad::examples
