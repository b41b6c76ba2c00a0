// What the quantization programs (ptq, qat) share: rebuilding the float model from a training
// checkpoint, the QConfig and calibration Sampling from their flags, running the calibration
// samples through a prepared model, and file sizes for the report.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "datasets/data_loader.h"
#include "datasets/dataset.h"
#include "examples/common/cli.h"
#include "examples/common/task.h"
#include "nn/sequential.h"
#include "quant/intmodel/convert.h"
#include "quant/intmodel/int_model_file.h"
#include "quant/fakequant/qconfig.h"

namespace qgrad::examples {

struct FloatModel {
  std::string arch, dataset;
  std::shared_ptr<nn::Sequential> model;
};
// The model a training program saved at path (its "arch" metadata names the architecture).
// Weights holding a NaN or infinity (a diverged run) are refused by nn::read_checkpoint.
FloatModel load_float_model(const std::string& path);

// The flags both programs take (the defaults are set in the struct; ptq and qat differ in the
// observer).
struct QuantizationFlags {
  std::string model{};  // the float checkpoint (required)
  std::string data{};   // "": data/<dataset>
  int bits = 8;
  int act_bits = 0;  // 0: same as bits
  std::string scheme = "sym", granularity = "channel", weight_method = "linear", observer = "minmax";
  int keep_ends = 1;
  int64_t calib_samples = 1000;
  std::string sampling = "uniform";
  uint64_t seed = 0;
  std::string metrics_json{}, save{};
  RuntimeFlags runtime{};
};
void add_quantization_flags(CLI::App& app, QuantizationFlags& flags);
quant::QConfig qconfig_from_flags(const QuantizationFlags& flags, const nn::Module& model);
quant::Sampling sampling_from_flags(const QuantizationFlags& flags);

// The samples of set that sampling picks, as a data set of their own.
data::Dataset sample_subset(const data::Dataset& set, const quant::Sampling& sampling);

// Runs the sampled training images through model (eval mode, no graph) so its observers record
// their ranges. Returns the number of images used.
int64_t calibrate(nn::Module& model, const data::Dataset& train_set, const quant::Sampling& sampling);

// evaluate() on a fake-quant model with its observers off meanwhile (and back as they were):
// evaluation must not move the ranges, or they would learn from the test set and the integer
// model converted afterwards would not compute what was evaluated.
Evaluation evaluate_frozen(nn::Module& model, const data::DataLoader& loader, int64_t num_classes);

// How closely two models agree on a loader's images (both in eval mode, no graph): the share of
// images whose argmax prediction is the same, and the largest |logit_a - logit_b|.
struct Agreement {
  double prediction_match = 0;
  double max_logit_diff = 0;
  int64_t images = 0;
};
Agreement compare_models(nn::Module& a, nn::Module& b, const data::DataLoader& loader);

// The preprocessing a model calibrated or trained on `set` expects: its image shape and
// its normalization() (loader_options' mean/std), i.e. what the data loader fed it.
quant::InputSpec input_spec(const data::Dataset& set);

// Writes the integer model to --save (when given) with the arch, the float checkpoint it came
// from ("float_model", the --model path) and the quantization flags in its metadata, plus
// `extra` entries (ptq: the repairs); returns the file's size in bytes (0 when not saved).
int64_t save_quantized(const QuantizationFlags& flags, const quant::IntModel& model, const std::string& arch,
                       const nn::Metadata& extra = {});

int64_t file_bytes(const std::string& path);  // 0 when the file does not exist
// Bytes of float_model's parameters and buffers saved alone as safetensors (written to a
// temporary file and measured).
int64_t float_model_file_bytes(const nn::Module& float_model);

// The metrics ptq and qat both report: float, fake-quant and integer accuracy, integer vs
// fake-quant agreement, the output scale, both file sizes and float_weight_bytes: the size of
// the float model saved alone (the checkpoint file holds the optimizer state too, so it is not
// the size to compare a deployed integer model with).
nlohmann::json quantized_results(const Evaluation& float_ev, const Evaluation& fake_quant_ev,
                                 const Evaluation& int_ev, const Agreement& agree,
                                 const quant::IntModel& model, const nn::Module& float_model,
                                 const std::string& float_path, int64_t quantized_bytes);

}  // namespace qgrad::examples
