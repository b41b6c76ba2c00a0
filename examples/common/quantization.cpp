#include "examples/common/quantization.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include <unistd.h>

#include "core/autograd.h"
#include "core/error.h"
#include "core/ops/reduce.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "datasets/data_loader.h"
#include "examples/common/models.h"
#include "examples/common/task.h"
#include "nn/checkpoint.h"
#include "nn/safetensors.h"

namespace qgrad::examples {

FloatModel load_float_model(const std::string& path) {
  nn::Checkpoint ckpt = nn::read_checkpoint(path);
  auto it = ckpt.metadata.find("arch");
  check(it != ckpt.metadata.end(), "load_float_model", path,
        ": no 'arch' in the checkpoint's metadata; it was not written by a qgrad training program");
  FloatModel f{it->second, dataset_of(it->second), make_model(it->second, 0)};
  f.model->load_state_dict(ckpt.model);
  return f;
}

void add_quantization_flags(CLI::App& app, QuantizationFlags& flags) {
  app.add_option("--model", flags.model, "float checkpoint written by a training program (.safetensors)")
      ->required()->check(existing_file());
  app.add_option("--data", flags.data, "folder holding the data set's files (default: data/<dataset>)");
  app.add_option("--bits", flags.bits, "weight bit width")->check(integer_in(2, 8));
  app.add_option("--act-bits", flags.act_bits, "activation bit width, 2..8 (0: same as --bits)")
      ->check(integer_in(0, 8));
  app.add_option("--scheme", flags.scheme, "weights: sym (signed, zero point 0) or asym (unsigned, affine)")
      ->check(CLI::IsMember({"sym", "asym"}));
  app.add_option("--granularity", flags.granularity, "weights: tensor or channel (per output channel)")
      ->check(CLI::IsMember({"tensor", "channel"}));
  app.add_option("--weight-method", flags.weight_method,
                 "weights: linear, kmeans (codebook) or pow2 (powers of two), non-linear per tensor, on the "
                 "layers at --bits")
      ->check(CLI::IsMember({"linear", "kmeans", "pow2"}));
  app.add_option("--observer", flags.observer, "activation observer")
      ->check(CLI::IsMember({"minmax", "ema", "percentile", "mse"}));
  app.add_option("--keep-ends", flags.keep_ends, "1: first and last quantized layer stay at 8 bits when bits < 8")
      ->check(integer_in(0, 1));
  app.add_option("--calib-samples", flags.calib_samples, "training images that calibrate activation ranges (0: all)")
      ->check(integer_in(0, std::numeric_limits<int64_t>::max()));
  app.add_option("--sampling", flags.sampling, "which calibration images: all, uniform (every k-th), random")
      ->check(CLI::IsMember({"all", "uniform", "random"}));
  app.add_option("--seed", flags.seed, "seed of random sampling and of data shuffling")
      ->check(integer_in(0, std::numeric_limits<int64_t>::max()));
  app.add_option("--metrics-json", flags.metrics_json, "write the accuracies and file sizes here")
      ->check(writable_file());
  app.add_option("--save", flags.save, "write the quantized model here (.safetensors)")->check(writable_file());
  add_runtime_flags(app, flags.runtime);
}

quant::QConfig qconfig_from_flags(const QuantizationFlags& flags, const nn::Module& model) {
  if (flags.act_bits > 0) quant::check_bits(flags.act_bits, "--act-bits");
  return quant::default_qconfig(model, {.weight_bits = flags.bits,
                                        .activation_bits = flags.act_bits > 0 ? flags.act_bits : flags.bits,
                                        .symmetric_weights = flags.scheme == "sym",
                                        .per_channel = flags.granularity == "channel",
                                        .weight_method = quant::parse_weight_method(flags.weight_method),
                                        .observer = quant::parse_observer_kind(flags.observer),
                                        .keep_ends_8bit = flags.keep_ends != 0});
}

quant::Sampling sampling_from_flags(const QuantizationFlags& flags) {
  const auto kind = quant::parse_sampling_kind(flags.sampling);
  return {.kind = kind, .count = kind == quant::Sampling::Kind::All ? 0 : flags.calib_samples, .seed = flags.seed};
}

data::Dataset sample_subset(const data::Dataset& set, const quant::Sampling& sampling) {
  const auto indices = quant::calibration_indices(sampling, static_cast<int64_t>(set.size()));
  const auto& shape = set.shape();
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  pixels.reserve(indices.size() * static_cast<size_t>(shape.numel()));
  for (int64_t i : indices) {
    data::Sample s = set.get(static_cast<size_t>(i));
    pixels.insert(pixels.end(), s.pixels, s.pixels + shape.numel());
    labels.push_back(s.label);
  }
  data::Dataset subset(shape, std::move(pixels), std::move(labels), set.classes());
  subset.set_name(set.name());
  subset.set_normalization(set.normalization());
  return subset;
}

int64_t calibrate(nn::Module& model, const data::Dataset& train_set, const quant::Sampling& sampling) {
  data::Dataset subset = sample_subset(train_set, sampling);
  data::DataLoader loader(subset, loader_options(train_set, 250));
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  for (size_t b = 0; b < loader.num_batches(); ++b) model(loader.batch(b).images);
  model.train(was_training);
  return static_cast<int64_t>(subset.size());
}

Evaluation evaluate_frozen(nn::Module& model, const data::DataLoader& loader, int64_t num_classes) {
  std::vector<std::pair<quant::FakeQuantize*, bool>> observing;
  for (const auto& [name, m] : model.named_modules())
    if (auto* fq = dynamic_cast<quant::FakeQuantize*>(m.get())) {
      observing.emplace_back(fq, fq->observing());
      fq->set_observe(false);
    }
  const Evaluation ev = evaluate(model, loader, num_classes);
  for (auto [fq, on] : observing) fq->set_observe(on);
  return ev;
}

Agreement compare_models(nn::Module& a, nn::Module& b, const data::DataLoader& loader) {
  const bool ta = a.is_training(), tb = b.is_training();
  a.eval();
  b.eval();
  NoGradGuard no_grad;
  Agreement r;
  int64_t same = 0;
  for (size_t i = 0; i < loader.num_batches(); ++i) {
    const Tensor x = loader.batch(i).images;
    const Tensor la = a(x), lb = b(x);
    const auto pa = argmax(la, 1).to_vector<int32_t>(), pb = argmax(lb, 1).to_vector<int32_t>();
    for (size_t j = 0; j < pa.size(); ++j) same += pa[j] == pb[j];
    r.images += static_cast<int64_t>(pa.size());
    const auto va = la.to_vector(), vb = lb.to_vector();
    for (size_t j = 0; j < va.size(); ++j)
      r.max_logit_diff = std::max(r.max_logit_diff, static_cast<double>(std::fabs(va[j] - vb[j])));
  }
  a.train(ta);
  b.train(tb);
  r.prediction_match = r.images ? static_cast<double>(same) / static_cast<double>(r.images) : 0;
  return r;
}

quant::InputSpec input_spec(const data::Dataset& set) {
  return {.shape = set.shape(), .mean = set.normalization().mean, .std = set.normalization().std};
}

int64_t save_quantized(const QuantizationFlags& flags, const quant::IntModel& model, const std::string& arch,
                       const nn::Metadata& extra) {
  if (flags.save.empty()) return 0;
  nn::Metadata meta{{"arch", arch},
                          {"float_model", flags.model},
                          {"qconfig.bits", std::to_string(flags.bits)},
                          {"qconfig.act-bits", std::to_string(flags.act_bits)},
                          {"qconfig.scheme", flags.scheme},
                          {"qconfig.granularity", flags.granularity},
                          {"qconfig.weight-method", flags.weight_method},
                          {"qconfig.observer", flags.observer},
                          {"qconfig.keep-ends", std::to_string(flags.keep_ends)}};
  for (const auto& [key, value] : extra) meta[key] = value;
  quant::save_int_model(flags.save, model, meta);
  return file_bytes(flags.save);
}

int64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

int64_t float_model_file_bytes(const nn::Module& float_model) {
  // Measured, not computed: the model saved alone (no optimizer state, no metadata) in the same
  // safetensors container the integer models use, so the two sizes compare file with file.
  namespace fs = std::filesystem;
  const fs::path tmp = fs::temp_directory_path() / ("qgrad_float_size_" + std::to_string(::getpid()) + ".safetensors");
  nn::save_safetensors(tmp.string(), float_model.state_dict());
  const int64_t bytes = file_bytes(tmp.string());
  std::error_code ec;
  fs::remove(tmp, ec);
  return bytes;
}

nlohmann::json quantized_results(const Evaluation& float_ev, const Evaluation& fake_quant_ev,
                                 const Evaluation& int_ev, const Agreement& agree,
                                 const quant::IntModel& model, const nn::Module& float_model,
                                 const std::string& float_path, int64_t quantized_bytes) {
  return {{"float_weight_bytes", float_model_file_bytes(float_model)}, {"float_test_accuracy", float_ev.accuracy}, {"fake_quant_test_accuracy", fake_quant_ev.accuracy},
          {"int_test_accuracy", int_ev.accuracy}, {"int_vs_fake_quant_prediction_match", agree.prediction_match},
          {"int_vs_fake_quant_max_logit_diff", agree.max_logit_diff},
          {"output_scale", model.output_qparams.scale[0]}, {"float_file_bytes", file_bytes(float_path)},
          {"quantized_file_bytes", quantized_bytes},
          {"float_images_per_second", float_ev.images_per_second()},
          {"int_images_per_second", int_ev.images_per_second()}};
}

}  // namespace qgrad::examples
