// inspect: what a saved integer model (ptq/qat --save) holds, layer by layer — weight bits,
// granularity, scale and zero-point ranges, bytes on disk — and, given the float checkpoint it
// came from, how far quantization moved the weights (SQNR, clipped share); given data, how the
// float model's activations fall against each layer's clip range. The histograms go to JSON
// for the notebooks (format: examples/inspect/README.md).
//   build/examples/inspect --model lenet5_int8.safetensors [--float lenet5.safetensors]
//                          [--data data/mnist --calib-samples 1000] [--histograms-json h.json]
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>

#include "core/autograd.h"
#include "examples/common/cli.h"
#include "examples/common/models.h"
#include "examples/common/quantization.h"
#include "examples/common/task.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/intmodel/int_model_report.h"
#include "quant/kernels/qgemm.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qat_modules.h"
#include "quant/math/quantize.h"

using namespace qgrad;
using nlohmann::json;

namespace {

json histogram_json(const quant::Histogram& h) {
  return {{"edges", h.edges}, {"counts", h.counts}, {"clip", {h.clip_lo, h.clip_hi}},
          {"below_clip", h.below}, {"above_clip", h.above}};
}

std::string range(double lo, double hi, const char* fmt) {
  char a[32], b[32];
  std::snprintf(a, sizeof a, fmt, lo);
  std::snprintf(b, sizeof b, fmt, hi);
  return std::string(a) + ".." + b;
}

// The float activations each FakeQuantize of prepared sees (its input) over the images: the
// model input first, then the output of every quantized layer and average pool, in order.
std::vector<std::vector<float>> activations(nn::Sequential& prepared, const data::DataLoader& loader) {
  quant::set_observe(prepared, false);
  quant::set_fake_quant(prepared, false);
  prepared.eval();
  NoGradGuard no_grad;
  std::vector<std::vector<float>> seen;
  for (size_t b = 0; b < loader.num_batches(); ++b) {
    Tensor h = loader.batch(b).images;
    size_t k = 0;
    for (size_t j = 0; j < prepared.size(); ++j) {
      if (dynamic_cast<quant::FakeQuantize*>(prepared[j].get())) {
        if (seen.size() <= k) seen.emplace_back();
        const auto v = h.contiguous().to_vector();
        auto& dst = seen[k++];
        dst.insert(dst.end(), v.begin(), v.end());
      }
      h = (*prepared[j])(h);
    }
  }
  return seen;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"inspect: what a saved integer model holds, layer by layer, with weight and activation histograms"};
  std::string path, float_path, data_folder, histograms_json, metrics_json;
  int64_t calib_samples = 1000;
  int bins = 64;
  examples::RuntimeFlags runtime;
  app.add_option("--model", path, "integer model written by ptq/qat --save (.safetensors)")
      ->required()->check(examples::existing_file());
  app.add_option("--float", float_path, "the float checkpoint it came from (default: the file's 'float_model', if it exists)")
      ->check(examples::existing_file());
  app.add_option("--data", data_folder, "folder with the data set: histogram activations of --calib-samples training images");
  app.add_option("--calib-samples", calib_samples, "training images (uniformly sampled) run through the float model")
      ->check(examples::integer_in(1, std::numeric_limits<int64_t>::max()));
  // Every histogram is a vector of this many counts per layer, kept in memory and in the JSON.
  app.add_option("--bins", bins, "histogram bins")->check(examples::integer_in(1, 100'000));
  app.add_option("--histograms-json", histograms_json, "write weight and activation histograms with their clip ranges here")
      ->check(examples::writable_file());
  app.add_option("--metrics-json", metrics_json, "write the per-layer table here")->check(examples::writable_file());
  examples::add_runtime_flags(app, runtime);
  examples::parse(app, argc, argv);
  examples::apply(runtime);
  examples::require_cpu(runtime, "inspect");

  const nn::SafeTensors file = nn::load_safetensors(path);
  check(quant::is_int_model(file.metadata), "inspect", path,
        ": not an integer model (no 'qgrad.format' = ", quant::kIntModelFormat,
        "); float checkpoints are read by evaluate");
  const quant::IntModelFile im = quant::read_int_model(file, path);
  std::vector<quant::LayerReport> rows = quant::report_int_model(im);
  const auto meta = [&](const char* key) {
    auto it = im.metadata.find(key);
    return it == im.metadata.end() ? std::string() : it->second;
  };
  const std::string arch = meta("arch");

  if (float_path.empty() && !meta("float_model").empty()) {
    float_path = meta("float_model");
    if (!std::filesystem::exists(float_path)) {
      std::printf("(the float model the file names, %s, does not exist here; pass --float)\n", float_path.c_str());
      float_path.clear();
    }
  }
  std::shared_ptr<nn::Sequential> prepared;
  if (!float_path.empty()) {
    examples::FloatModel f = examples::load_float_model(float_path);
    check(arch.empty() || f.arch == arch, "inspect", float_path, " is a ", f.arch, " model, but ", path,
          " was quantized from a ", arch, " model");
    // The prepared twin gives each quantized layer's float weight as convert saw it (BatchNorm
    // folded) and holds a FakeQuantize wherever the integer model quantizes an activation.
    prepared = quant::prepare(*f.model, quant::default_qconfig(*f.model, {}));
    size_t r = 0;
    for (size_t j = 0; j < prepared->size(); ++j) {
      auto* layer = dynamic_cast<quant::QatLayer*>((*prepared)[j].get());
      if (!layer) continue;
      while (r < rows.size() && !im.model->layers[r]->gemm()) ++r;
      check(r < rows.size(), "inspect", float_path, " has more Conv2d/Linear layers than ", path);
      quant::add_float_weight(rows[r], *im.model->layers[r]->gemm(), layer->effective_weight_bias().first);
      ++r;
    }
  }

  int64_t total = 0;
  for (const auto& [name, t] : file.tensors) total += t.numel() * static_cast<int64_t>(dtype_size(t.dtype()));
  std::printf("%s: %s integer model, %zu layers, %lld bytes (%lld in tensors)\n", path.c_str(),
              arch.empty() ? "an" : arch.c_str(), rows.size(), static_cast<long long>(examples::file_bytes(path)),
              static_cast<long long>(total));
  std::printf("input: %s\n", im.model->input_spec ? quant::describe(*im.model->input_spec).c_str()
                                                    : "no preprocessing recorded (a file from before qgrad.input_*)");
  std::printf("qgemm kernel: %s\n", quant::qgemm_kernel().name);
  std::printf("float weights: %s\n", float_path.empty() ? "(none; --float adds SQNR and clipped share)" : float_path.c_str());
  std::printf("%3s  %-16s %-9s %4s  %-7s  %-19s  %-5s %7s  %7s  %7s\n", "#", "layer", "weight", "bits", "gran",
              "weight scale", "zp", "bytes", "SQNR dB", "clipped");
  json table = json::array();
  for (const auto& r : rows) {
    const bool w = r.weight_bits > 0;
    const std::string shape = w ? std::to_string(r.weight_shape[0]) + "x" + std::to_string(r.weight_shape[1]) : "-";
    const std::string scales = w ? range(r.scale_min, r.scale_max, "%.3g") : "-";
    const std::string zps = w ? range(r.zero_point_min, r.zero_point_max, "%.0f") : "-";
    char sq[16] = "-", cl[16] = "-";
    if (r.sqnr_db) std::snprintf(sq, sizeof sq, "%.2f", *r.sqnr_db);
    if (r.clipped_fraction) std::snprintf(cl, sizeof cl, "%.2f%%", 100.0 * *r.clipped_fraction);
    std::printf("%3zu  %-16s %-9s %4s  %-7s  %-19s  %-5s %7lld  %7s  %7s\n", r.index, r.kind.c_str(), shape.c_str(),
                w ? std::to_string(r.weight_bits).c_str() : "-", w ? r.granularity.c_str() : "-", scales.c_str(),
                zps.c_str(), static_cast<long long>(r.file_bytes), sq, cl);
    json row = {{"index", r.index}, {"kind", r.kind}, {"description", r.description}, {"file_bytes", r.file_bytes}};
    if (w)
      row.update({{"weight_bits", r.weight_bits}, {"granularity", r.granularity}, {"weight_shape", r.weight_shape},
                  {"scale_min", r.scale_min}, {"scale_max", r.scale_max}, {"zero_point_min", r.zero_point_min},
                  {"zero_point_max", r.zero_point_max}, {"weight_clip", {r.weight_clip_lo, r.weight_clip_hi}}});
    if (r.has_output) row["output_clip"] = {r.output_clip_lo, r.output_clip_hi};
    if (r.sqnr_db) row.update({{"weight_sqnr_db", *r.sqnr_db}, {"weight_clipped_fraction", *r.clipped_fraction}});
    table.push_back(row);
  }

  // Histograms: float weights when given (else the dequantized codes), activations with --data.
  json hist_layers = json::array();
  std::vector<json> weight_hists(rows.size());
  {
    size_t j = 0;
    for (const auto& r : rows) {
      const quant::IntGemm* g = im.model->layers[r.index]->gemm();
      if (!g) continue;
      std::vector<float> values;
      std::string source = "quantized";
      if (prepared) {
        for (; j < prepared->size(); ++j)
          if (auto* layer = dynamic_cast<quant::QatLayer*>((*prepared)[j].get())) {
            values = layer->effective_weight_bias().first.contiguous().to_vector();
            source = "float";
            ++j;
            break;
          }
      } else {
        values = quant::dequantize(g->params.qweight, g->weight_qparams()).to_vector();
      }
      weight_hists[r.index] = histogram_json(quant::histogram(values, r.weight_clip_lo, r.weight_clip_hi, bins));
      weight_hists[r.index]["source"] = source;
    }
  }
  std::vector<json> act_hists(rows.size());
  json input_hist;
  int64_t images = 0;
  if (!data_folder.empty()) {
    check(prepared != nullptr, "inspect", "--data needs the float model (--float, or the file's 'float_model')");
    const std::string dataset = examples::dataset_of(arch);
    data::Dataset train = examples::load_dataset(dataset, data_folder, data::Split::Train);
    data::Dataset subset = examples::sample_subset(
        train, {.kind = quant::Sampling::Kind::Uniform, .count = calib_samples});
    images = static_cast<int64_t>(subset.size());
    data::DataLoader loader(subset, examples::loader_options(train, 250));
    const auto seen = activations(*prepared, loader);
    // seen[0]: the input; then one per layer with an output range, in the same order.
    std::vector<size_t> with_output;
    for (const auto& r : rows)
      if (r.has_output) with_output.push_back(r.index);
    check(seen.size() == with_output.size() + 1, "inspect", "the float model quantizes ", seen.size(),
          " activations but ", path, " has ", with_output.size() + 1);
    const quant::QParams& in = im.model->input_qparams;
    input_hist = histogram_json(quant::histogram(seen[0], -in.scale[0] * in.zero_point[0],
                                                 in.scale[0] * (in.qmax() - in.zero_point[0]), bins));
    std::printf("\nactivations of %lld uniformly sampled training images (float model) against the clip ranges:\n",
                static_cast<long long>(images));
    std::printf("%3s  %-16s %-21s %-21s %9s\n", "#", "output of", "clip range", "observed", "clipped");
    for (size_t a = 0; a < with_output.size(); ++a) {
      const auto& r = rows[with_output[a]];
      const auto& v = seen[a + 1];
      const quant::Histogram h = quant::histogram(v, r.output_clip_lo, r.output_clip_hi, bins);
      act_hists[r.index] = histogram_json(h);
      const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
      std::printf("%3zu  %-16s %-21s %-21s %8.3f%%\n", r.index, r.kind.c_str(),
                  range(r.output_clip_lo, r.output_clip_hi, "%.4g").c_str(), range(*mn, *mx, "%.4g").c_str(),
                  100.0 * static_cast<double>(h.below + h.above) / static_cast<double>(v.size()));
    }
  }

  if (!histograms_json.empty()) {
    for (const auto& r : rows) {
      json l = {{"index", r.index}, {"kind", r.kind}, {"description", r.description}};
      if (!weight_hists[r.index].is_null()) l["weight"] = weight_hists[r.index];
      if (!act_hists[r.index].is_null()) l["activation"] = act_hists[r.index];
      hist_layers.push_back(l);
    }
    json h = {{"model", path}, {"float_model", float_path}, {"bins", bins}, {"images", images}, {"layers", hist_layers}};
    if (!input_hist.is_null()) h["input_activation"] = input_hist;
    examples::write_json(histograms_json, h);
  }
  examples::write_json(metrics_json,
                       {{"program", "inspect"}, {"model", path}, {"arch", arch}, {"float_model", float_path},
                        {"kernel", quant::qgemm_kernel().name}, {"file_bytes", examples::file_bytes(path)},
                        {"layers", table}});
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "inspect: %s\n", e.what());
  return 1;
}
