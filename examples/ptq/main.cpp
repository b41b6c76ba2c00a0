// ptq: post-training quantization of a float checkpoint. prepare() inserts observers, the
// calibration images (--sampling, --calib-samples) record activation ranges, then the observers
// are frozen and fake quantization is switched on; the report gives float and quantized test
// accuracy. The post-training repairs (quant/repair/, examples/common/repair.h) run on the same
// calibration images: --equalize before calibration, --adaround and --bias-correction after.
//   build/examples/ptq --model lenet5.safetensors --data data/mnist --bits 8 --scheme sym
//                      --granularity channel --observer minmax --calib-samples 1000 --sampling uniform
//   build/examples/ptq --model lenet5.safetensors --bits 4 --act-bits 8 --equalize --adaround --bias-correction
#include <cstdio>
#include <exception>

#include "examples/common/cli.h"
#include "examples/common/quantization.h"
#include "examples/common/repair.h"
#include "examples/common/task.h"
#include "quant/intmodel/convert.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"

using namespace qgrad;

int main(int argc, char** argv) try {
  CLI::App app{"ptq: post-training quantization of a float checkpoint (calibrate, fake-quantize, convert to an "
               "integer model)"};
  examples::QuantizationFlags flags{.observer = "minmax"};
  examples::add_quantization_flags(app, flags);
  examples::RepairFlags repair;
  examples::add_repair_flags(app, repair);
  examples::parse(app, argc, argv);
  const int threads = examples::apply(flags.runtime);
  const Device device = examples::device(flags.runtime);  // --device cpu|cuda

  examples::FloatModel f = examples::load_float_model(flags.model);
  f.model->to(device);  // calibration and the fake-quant evaluation run where the model is
  const std::string dir = examples::data_dir(flags.data, f.dataset);
  data::Dataset train_set = examples::load_dataset(f.dataset, dir, data::Split::Train);
  data::Dataset test_set = examples::load_dataset(f.dataset, dir, data::Split::Test);
  data::DataLoader test_loader(test_set, examples::loader_options(test_set, 500));
  const auto classes = static_cast<int64_t>(test_set.classes().size());

  const quant::QConfig config = examples::qconfig_from_flags(flags, *f.model);
  auto qmodel = quant::prepare(*f.model, config);
  examples::RepairReport repaired;
  examples::equalize_if_asked(repair, *qmodel, repaired);
  qmodel->to(device);  // the observers' buffers too
  const int64_t used = examples::calibrate(*qmodel, train_set, examples::sampling_from_flags(flags));
  quant::set_observe(*qmodel, false);
  quant::set_fake_quant(*qmodel, true);
  examples::repair_calibrated(repair, *qmodel, train_set, examples::sampling_from_flags(flags), repaired);

  const examples::Evaluation fev = examples::evaluate(*f.model, test_loader, classes);
  const examples::Evaluation qev = examples::evaluate(*qmodel, test_loader, classes);
  // Conversion reads the calibrated weights and ranges on the host; the integer model's GEMM
  // layers then run on --device.
  qmodel->to(Device::CPU);
  auto int_model = quant::convert(*qmodel);
  int_model->set_execution_device(device);
  int_model->input_spec = examples::input_spec(train_set);
  const examples::Evaluation iev = examples::evaluate(*int_model, test_loader, classes);
  const examples::Agreement agree = examples::compare_models(*qmodel, *int_model, test_loader);
  std::printf("%s, %d thread(s): calibrated on %lld %s images (%s sampling)\n", f.arch.c_str(), threads,
              static_cast<long long>(used), train_set.name().c_str(), flags.sampling.c_str());
  examples::print_repair(repair, repaired);
  std::printf("float test accuracy       %.2f%%\n", 100.0 * fev.accuracy);
  std::printf("fake-quant test accuracy  %.2f%%  (w%lld %s %s per-%s, observer %s, %s)\n", 100.0 * qev.accuracy,
              static_cast<long long>(flags.bits), flags.weight_method.c_str(), flags.scheme.c_str(),
              flags.granularity.c_str(), flags.observer.c_str(), examples::repair_name(repair).c_str());
  std::printf("integer model accuracy    %.2f%%  (%s)\n", 100.0 * iev.accuracy, int_model->options_str().c_str());
  std::printf("integer vs fake-quant: same prediction on %.2f%% of %lld test images, max |logit diff| %.5f "
              "(output step %.5f)\n", 100.0 * agree.prediction_match, static_cast<long long>(agree.images),
              agree.max_logit_diff, int_model->output_qparams.scale[0]);

  // The file names the repairs only when some ran: a plain PTQ file stays byte for byte the one
  // Python's prepare/calibrate/convert writes (python/tests/test_ptq_interop.py).
  nn::Metadata repair_metadata;
  if (examples::repair_name(repair) != "rtn") repair_metadata["repair"] = examples::repair_name(repair);
  const int64_t saved_bytes = examples::save_quantized(flags, *int_model, f.arch, repair_metadata);
  if (saved_bytes) std::printf("integer model saved to %s (%lld bytes)\n", flags.save.c_str(), static_cast<long long>(saved_bytes));
  nlohmann::json metrics = {{"program", "ptq"}, {"model", flags.model}, {"arch", f.arch},
                            {"bits", flags.bits}, {"act_bits", flags.act_bits},
                            {"scheme", flags.scheme}, {"granularity", flags.granularity},
                            {"weight_method", flags.weight_method},
                            {"observer", flags.observer}, {"sampling", flags.sampling},
                            {"calib_samples", used}, {"threads", threads}};
  metrics.update(examples::repair_json(repair, repaired));
  metrics.update(examples::quantized_results(fev, qev, iev, agree, *int_model, *f.model, flags.model, saved_bytes));
  examples::write_json(flags.metrics_json, metrics);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ptq: %s\n", e.what());
  return 1;
}
