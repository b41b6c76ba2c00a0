// End-to-end inference speed: the float model against its integer-only conversion, for LeNet-5
// and the CIFAR CNN (examples/common/models.h), at several batch sizes and thread counts.
//   float   model->forward(x)            eval mode, no graph, float32 [B, C, H, W] -> logits
//   int8    IntModel::forward(x)         what a user calls: quantize x -> integer layers ->
//                                        dequantize the logits (float in, float out)
//   int8 core  IntModel::forward_int(q)  uint8 in, uint8 out: the integer layers alone
// images/s = B / (seconds of one call); each cell is the best (least disturbed) of several calls
// after a warm-up, the median is kept in the JSON too. The ratio is int8 / float of the same run.
// The conversion is checked on the timed batch: the share of images whose predicted class is the
// same for the float, fake-quant and integer models (a fast row from a broken conversion would
// show up as a low fake-quant/int8 agreement, and the program then exits 1).
//   bench_inference [--lenet CKPT] [--cifar CKPT] [--data ROOT] [--batches 1,64,256]
//                   [--threads 1,2] [--json bench/results/inference.json]
// Without a checkpoint a model is freshly initialised from --seed (speed does not depend on the
// weights); without --data the images are uniform random pixels (calibration too).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/autograd.h"
#include "core/error.h"
#include "core/ops/reduce.h"
#include "core/threads.h"
#include "datasets/data_loader.h"
#include "examples/common/cli.h"
#include "examples/common/models.h"
#include "examples/common/quantization.h"
#include "examples/common/task.h"
#include "quant/intmodel/convert.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/kernels/qgemm.h"
#include "quant/fakequant/prepare.h"
#include "quant/fakequant/qconfig.h"
#include "quant/math/quantize.h"

using namespace qgrad;

namespace {

struct Timing {
  double best = 0, median = 0;
  int calls = 0;
};

// One warm-up call, then calls until min_seconds have passed (at least 3): the best call is the
// least disturbed one on a shared machine, the median says how disturbed the others were.
template <class F>
Timing time_calls(F f, double min_seconds) {
  f();
  std::vector<double> t;
  double total = 0;
  while (t.size() < 3 || (total < min_seconds && t.size() < 1000)) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    total += t.back();
  }
  std::sort(t.begin(), t.end());
  return {t.front(), t[t.size() / 2], static_cast<int>(t.size())};
}

// Share of rows of two logit tensors [B, classes] with the same argmax.
double same_prediction(const Tensor& a, const Tensor& b) {
  const auto pa = argmax(a, 1).to_vector<int32_t>(), pb = argmax(b, 1).to_vector<int32_t>();
  int64_t same = 0;
  for (size_t i = 0; i < pa.size(); ++i) same += pa[i] == pb[i];
  return static_cast<double>(same) / static_cast<double>(pa.size());
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, static_cast<double>(std::fabs(va[i] - vb[i])));
  return m;
}

// n images of uniform random pixels in the data set's shape (label 0): speed does not depend on
// what the pixels show, and normalized random pixels exercise every activation range.
data::Dataset random_images(const data::ImageShape& shape, int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<uint8_t> pixels(static_cast<size_t>(n * shape.numel()));
  for (auto& p : pixels) p = static_cast<uint8_t>(gen.below(256));
  data::Dataset set(shape, std::move(pixels), std::vector<int32_t>(static_cast<size_t>(n), 0), {"random"});
  set.set_normalization(data::channel_statistics(set));  // their own, as for any data set
  return set;
}

struct Bench {
  std::string arch, dataset, weights, images;
  std::shared_ptr<nn::Sequential> float_model, prepared;
  std::shared_ptr<quant::IntModel> int_model;
  int64_t calibration_images = 0;
};

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"bench_inference: int8 vs float inference speed per model, batch size and thread count"};
  std::string lenet, cifar, data_folder, json_path = "bench/results/inference.json";
  std::vector<std::string> archs{"lenet5", "cifar_cnn"};
  std::vector<int64_t> batches{1, 64, 256}, thread_counts{1, 2};
  int64_t calib = 256;
  double min_seconds = 0.3;
  uint64_t seed = 0;
  app.add_option("--lenet", lenet, "LeNet-5 float checkpoint (default: freshly initialised from --seed)")
      ->check(examples::existing_file());
  app.add_option("--cifar", cifar, "CIFAR CNN float checkpoint (default: freshly initialised from --seed)")
      ->check(examples::existing_file());
  app.add_option("--data", data_folder, "folder holding mnist/ and cifar10/ (test images; default: random pixels)");
  app.add_option("--models", archs, "which models, comma-separated")
      ->delimiter(',')->check(CLI::IsMember({"lenet5", "cifar_cnn"}));
  app.add_option("--batches", batches, "batch sizes, comma-separated")
      ->delimiter(',')->check(examples::integer_in(1, 65'536));
  app.add_option("--threads", thread_counts, "thread counts, comma-separated")
      ->delimiter(',')->check(examples::integer_in(1, 1024));
  app.add_option("--calib-samples", calib, "images that calibrate the activation ranges")
      ->check(examples::integer_in(1, 1'000'000));
  app.add_option("--min-seconds", min_seconds, "time each cell for at least this long (plus one warm-up call)")
      ->check(examples::number_in(0, 3600));
  app.add_option("--seed", seed, "seed of fresh weights and random images")
      ->check(examples::integer_in(0, std::numeric_limits<int64_t>::max()));
  app.add_option("--json", json_path, "write the rows here (empty: nowhere)")->check(examples::writable_file());
  examples::parse(app, argc, argv);
  const int64_t max_batch = *std::max_element(batches.begin(), batches.end());
  const char* kernel = quant::qgemm_kernel().name;

  std::printf("int8 vs float inference; qgemm kernel %s, float GEMM OpenBLAS (core %s); best of >= %.2f s per "
              "cell after a warm-up\n",
              kernel, openblas_get_corename(), min_seconds);
  nlohmann::json rows = nlohmann::json::array(), models = nlohmann::json::array();
  bool conversion_ok = true;
  for (const std::string& arch : archs) {
    Bench b;
    b.arch = arch;
    b.dataset = examples::dataset_of(arch);
    const std::string ckpt = arch == "lenet5" ? lenet : cifar;
    if (!ckpt.empty()) {
      examples::FloatModel f = examples::load_float_model(ckpt);
      check(f.arch == arch, "bench_inference", ckpt, " holds a ", f.arch, ", not a ", arch);
      b.float_model = f.model;
      b.weights = "checkpoint " + ckpt;
    } else {
      b.float_model = examples::make_model(arch, seed);
      b.weights = "fresh (seed " + std::to_string(seed) + ")";
    }
    b.float_model->eval();

    // Test images when a data folder is given (calibration uses a spread of them too: this
    // measures speed, not accuracy), else random pixels of the same shape.
    const data::ImageShape shape = b.dataset == "mnist" ? data::ImageShape{1, 28, 28} : data::ImageShape{3, 32, 32};
    data::Dataset images = !data_folder.empty()
                               ? examples::load_dataset(b.dataset, data_folder + "/" + b.dataset, data::Split::Test)
                               : random_images(shape, std::max(max_batch, calib), seed + 1);
    b.images = !data_folder.empty() ? b.dataset + " test images" : "random pixels";
    check(static_cast<int64_t>(images.size()) >= max_batch, "bench_inference", "only ", images.size(),
          " images for batch ", max_batch);

    // PTQ with the default config: int8 symmetric per-channel weights, uint8 min-max activations.
    b.prepared = quant::prepare(*b.float_model, quant::default_qconfig(*b.float_model, {}));
    b.calibration_images = examples::calibrate(
        *b.prepared, images, {.kind = quant::Sampling::Kind::Uniform, .count = calib});
    quant::set_observe(*b.prepared, false);
    quant::set_fake_quant(*b.prepared, true);
    b.prepared->eval();
    b.int_model = quant::convert(*b.prepared);
    std::printf("\n%s: weights %s, %s, calibrated on %lld images\n  %s\n", arch.c_str(), b.weights.c_str(),
                b.images.c_str(), static_cast<long long>(b.calibration_images), b.int_model->options_str().c_str());

    // The check: predictions of the float, fake-quant and integer models on the largest batch.
    NoGradGuard no_grad;
    const data::DataLoader check_loader(images, examples::loader_options(images, max_batch));
    const Tensor xc = check_loader.batch(0).images;
    const Tensor lf = b.float_model->forward(xc), lq = b.prepared->forward(xc), li = b.int_model->forward(xc);
    const double float_agree = same_prediction(lf, li), fq_agree = same_prediction(lq, li);
    const double fq_diff = max_abs_diff(lq, li), step = b.int_model->output_qparams.scale[0];
    std::printf("  check on %lld images: int8 = float prediction %.1f%%, int8 = fake-quant %.1f%% "
                "(max |logit diff| %.4f, output step %.4f)\n",
                static_cast<long long>(xc.size(0)), 100 * float_agree, 100 * fq_agree, fq_diff, step);
    // The integer model rounds ties differently from the fake-quant one (int_modules.h), so a
    // prediction may flip on near-equal logits; a broken conversion disagrees far more often.
    if (fq_agree < 0.95) {
      std::printf("  CONVERSION CHECK FAILED: int8 and fake-quant predictions differ on %.1f%% of images\n",
                  100 * (1 - fq_agree));
      conversion_ok = false;
    }
    models.push_back({{"model", arch}, {"weights", b.weights}, {"images", b.images},
                      {"calibration_images", b.calibration_images}, {"int_layers", b.int_model->options_str()},
                      {"check_images", xc.size(0)}, {"int8_vs_float_same_prediction", float_agree},
                      {"int8_vs_fake_quant_same_prediction", fq_agree}, {"int8_vs_fake_quant_max_logit_diff", fq_diff},
                      {"output_step", step}});

    std::printf("  %7s %7s %12s %12s %15s %11s %10s\n", "threads", "batch", "float img/s", "int8 img/s",
                "int8 core img/s", "int8/float", "agree");
    for (int64_t threads : thread_counts) {
      set_num_threads(static_cast<int>(threads));
      for (int64_t batch : batches) {
        const data::DataLoader loader(images, examples::loader_options(images, batch));
        const Tensor x = loader.batch(0).images;
        const Tensor q = quant::quantize(x, b.int_model->input_qparams);
        Tensor out_f, out_i;
        const Timing tf = time_calls([&] { out_f = b.float_model->forward(x); }, min_seconds);
        const Timing ti = time_calls([&] { out_i = b.int_model->forward(x); }, min_seconds);
        const Timing tc = time_calls([&] { b.int_model->forward_int(q); }, min_seconds);
        const auto ips = [&](double s) { return static_cast<double>(batch) / s; };
        const double agree = same_prediction(out_f, out_i);
        std::printf("  %7lld %7lld %12.0f %12.0f %15.0f %10.2fx %9.1f%%\n", static_cast<long long>(threads),
                    static_cast<long long>(batch), ips(tf.best), ips(ti.best), ips(tc.best), tf.best / ti.best,
                    100 * agree);
        rows.push_back({{"model", arch}, {"framework", "qgrad"}, {"threads", threads}, {"batch", batch},
                        {"float_images_per_second", ips(tf.best)}, {"int8_images_per_second", ips(ti.best)},
                        {"int8_core_images_per_second", ips(tc.best)},
                        {"float_images_per_second_median", ips(tf.median)},
                        {"int8_images_per_second_median", ips(ti.median)},
                        {"int8_core_images_per_second_median", ips(tc.median)},
                        {"calls", {tf.calls, ti.calls, tc.calls}}, {"int8_over_float", tf.best / ti.best},
                        {"int8_vs_float_same_prediction", agree}, {"kernel", kernel}});
      }
    }
  }

  const std::string& path = json_path;
  if (!path.empty()) {
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    examples::write_json(path, {{"program", "bench_inference"}, {"kernel", kernel}, {"min_seconds", min_seconds},
                                {"models", models}, {"rows", rows}});
    std::printf("\nwrote %s\n", path.c_str());
  }
  return conversion_ok ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_inference: %s\n", e.what());
  return 1;
}
