// Command-line flags for the example programs, parsed by CLI11 (Debian: libcli11-dev). Each
// program declares its flags in its main.cpp, bound to variables; what is here is shared by
// several programs: validators that check a flag's range on its text (before conversion, so
// overflow and wrap-around are caught, not hidden: `--threads 4294967297` is an error, not 1),
// the flags every program of a kind takes, and parse(), which turns any bad command line into
// a qgrad::Error naming the flag and the value.
//   CLI::App app{"mnist_cnn: trains LeNet-5 on MNIST"};
//   examples::TrainingFlags flags{.epochs = 3, .batch_size = 64, .lr = 0.02};
//   examples::add_training_flags(app, flags, "mnist");
//   app.add_option("--momentum", momentum, "SGD momentum")->check(examples::number_in(0, 1, examples::Open::High));
//   examples::parse(app, argc, argv);
#pragma once
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "core/dtype.h"

namespace qgrad::examples {

// An integer from lo to hi (both included), written in decimal.
CLI::Validator integer_in(int64_t lo, int64_t hi);
// A finite number from lo to hi; Open::Low / Open::High leave that end out (lr: (0, 1e6]).
enum class Open { None, Low, High };
CLI::Validator number_in(double lo, double hi, Open open = Open::None);
// A file that exists and is not a directory (a checkpoint or metrics file to read).
CLI::Validator existing_file();
// A file path that can be written: not a directory, in a folder that exists and is writable.
// Checked before any work, so a bad --save fails now, not after the first epoch.
CLI::Validator writable_file();

// The flags every training, evaluation and quantization program takes: where the work runs.
struct RuntimeFlags {
  int threads = 0;             // 0: QGRAD_NUM_THREADS or all cores
  std::string device = "cpu";  // where the model runs: cpu or cuda (the optional GPU backend)
};
void add_runtime_flags(CLI::App& app, RuntimeFlags& flags);
// Sets the thread count from --threads (0 keeps QGRAD_NUM_THREADS / all cores); returns it.
int apply(const RuntimeFlags& flags);
// The device --device names; "cuda" fails clearly in a build without the CUDA backend or where
// no GPU is visible.
Device device(const RuntimeFlags& flags);
// For a program whose work runs on the CPU only: fails when --device names another device.
void require_cpu(const RuntimeFlags& flags, const std::string& program);

// The flags of the training programs (mnist_mlp, mnist_cnn, cifar_cnn); the defaults are the
// program's, set in the struct before add_training_flags.
struct TrainingFlags {
  std::string data{};        // default: data/<dataset>
  int64_t epochs = 1;
  int64_t batch_size = 64;
  double lr = 0.01;
  uint64_t seed = 0;
  std::string save{};        // checkpoint after every epoch ("": none)
  std::string metrics_json{};  // per-epoch metrics ("": none)
  int64_t limit_train = 0;   // 0: all training images
  std::string resume{};      // checkpoint to continue from ("": start fresh)
  RuntimeFlags runtime{};
};
void add_training_flags(CLI::App& app, TrainingFlags& flags, const std::string& dataset);

// --data when given, else data/<dataset> (where `make data` puts it).
std::string data_dir(const std::string& data, const std::string& dataset);

// Parses argv into the variables the options are bound to. --help prints the flags and exits
// 0; anything else wrong (unknown flag, missing value, out of range) throws qgrad::Error.
void parse(CLI::App& app, int argc, char** argv);

}  // namespace qgrad::examples
