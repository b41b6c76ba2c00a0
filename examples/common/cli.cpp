#include "examples/common/cli.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "core/device.h"
#include "core/error.h"
#include "core/threads.h"

namespace qgrad::examples {

namespace fs = std::filesystem;

CLI::Validator integer_in(int64_t lo, int64_t hi) {
  const std::string range = cat("an integer from ", lo, " to ", hi);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        int64_t v = 0;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, v);
        if (text.empty() || ptr != end || ec == std::errc::invalid_argument) return cat("expects ", range, ", got '", text, "'");
        if (ec == std::errc::result_out_of_range || v < lo || v > hi) return cat("expects ", range, ", got ", text);
        return "";
      },
      cat("in [", lo, ", ", hi, "]"));
}

CLI::Validator number_in(double lo, double hi, Open open) {
  const std::string range = cat(open == Open::Low ? "(" : "[", lo, ", ", hi, open == Open::High ? ")" : "]");
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') return cat("expects a number, got '", text, "'");
        const bool inside = std::isfinite(v) && (open == Open::Low ? v > lo : v >= lo) &&
                            (open == Open::High ? v < hi : v <= hi);
        if (!inside) return cat("expects a finite number in ", range, ", got ", text);
        return "";
      },
      cat("in ", range));
}

CLI::Validator existing_file() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        std::error_code ec;
        const auto status = fs::status(path, ec);
        if (!fs::exists(status)) return cat("no such file: ", path);
        if (fs::is_directory(status)) return cat(path, " is a directory, not a file");
        return "";
      },
      "FILE");
}

CLI::Validator writable_file() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        if (path.empty()) return "";  // "" means: do not write
        std::error_code ec;
        if (fs::is_directory(path, ec)) return cat(path, " is a directory, not a file");
        const fs::path folder = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : fs::path(".");
        if (!fs::is_directory(folder, ec)) return cat("cannot write ", path, ": the folder ", folder.string(), " does not exist");
        if (::access(folder.c_str(), W_OK) != 0) return cat("cannot write ", path, ": the folder ", folder.string(), " is not writable");
        return "";
      },
      "FILE");
}

void add_runtime_flags(CLI::App& app, RuntimeFlags& flags) {
  app.add_option("--threads", flags.threads, "worker threads (0: QGRAD_NUM_THREADS or all cores)")
      ->check(integer_in(0, 1024));
  app.add_option("--device", flags.device, "where the model runs: cpu, or cuda (a GPU, when qgrad was built with CUDA)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
}

int apply(const RuntimeFlags& flags) {
  if (flags.threads > 0) set_num_threads(flags.threads);
  return get_num_threads();
}

Device device(const RuntimeFlags& flags) { return parse_device(flags.device); }

void require_cpu(const RuntimeFlags& flags, const std::string& program) {
  check(flags.device == "cpu", program.c_str(), "--device ", flags.device, " is not supported: this program runs on the CPU only");
}

std::string data_dir(const std::string& data, const std::string& dataset) {
  return data.empty() ? "data/" + dataset : data;
}

void add_training_flags(CLI::App& app, TrainingFlags& flags, const std::string& dataset) {
  flags.data = "data/" + dataset;
  app.add_option("--data", flags.data, "folder holding the data set's files");
  app.add_option("--epochs", flags.epochs, "passes over the training set")->check(integer_in(1, 1'000'000));
  app.add_option("--batch-size", flags.batch_size, "samples per step")->check(integer_in(1, 65'536));
  app.add_option("--lr", flags.lr, "learning rate")->check(number_in(0, 1e6, Open::Low));
  app.add_option("--seed", flags.seed, "seed for initialization, shuffling and augmentation")
      ->check(integer_in(0, std::numeric_limits<int64_t>::max()));
  app.add_option("--save", flags.save, "write the trained model to this checkpoint (.safetensors) after every epoch")
      ->check(writable_file());
  app.add_option("--metrics-json", flags.metrics_json, "write per-epoch metrics to this JSON file")->check(writable_file());
  app.add_option("--limit-train", flags.limit_train, "use only N training samples, spread evenly over the set (0: all)")
      ->check(integer_in(0, std::numeric_limits<int64_t>::max()));
  app.add_option("--resume", flags.resume, "continue from this checkpoint (written by --save)")->check(existing_file());
  add_runtime_flags(app, flags.runtime);
}

void parse(CLI::App& app, int argc, char** argv) {
  // The bound variables hold the defaults until parsing: --help shows them.
  for (CLI::Option* option : app.get_options()) option->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    fail("flags", e.what(), " (run with --help for the flags)");
  }
}

}  // namespace qgrad::examples
