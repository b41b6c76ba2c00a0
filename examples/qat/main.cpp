// qat: quantization-aware training from a float checkpoint (the article's §3.3 / §4.2). The
// float model is prepared with fake quantization on weights and activations, the observers are
// first calibrated on a sample of training images, then training runs with the usual optimizer:
// the forward pass uses quantized values, the STE carries the gradient to the float weights.
// Activation observers are frozen from epoch --freeze-after on (0: right after calibration).
//   build/examples/qat --model lenet5.safetensors --data data/mnist --bits 4 --epochs 2 --lr 0.005
#include <algorithm>
#include <cstdio>
#include <exception>

#include "examples/common/cli.h"
#include "examples/common/train.h"
#include "examples/common/quantization.h"
#include "examples/common/task.h"
#include "nn/nn.h"
#include "quant/intmodel/convert.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"

using namespace qgrad;

int main(int argc, char** argv) try {
  examples::Flags flags;
  examples::add_quantization_flags(flags, "ema");
  flags.add("epochs", "2", "training epochs")
      .add("lr", "0.005", "SGD learning rate")
      .add("momentum", "0.9", "SGD momentum")
      .add("batch-size", "64", "images per step")
      .add("freeze-after", "1", "freeze the activation observers from this epoch on (0-based)");
  flags.parse(argc, argv);
  check(flags.given("model"), "qat", "--model FILE is required (QAT starts from a float checkpoint)");
  const int threads = examples::apply_threads(flags.integer("threads"));
  const auto seed = static_cast<uint64_t>(flags.integer("seed"));

  examples::FloatModel f = examples::load_float_model(flags.str("model"));
  const std::string dir = examples::data_dir(flags, f.dataset);
  // Fine-tuning uses the float training's augmentation (cifar_cnn trains with crop + flip).
  examples::ClassifierData data({.dataset = f.dataset, .dir = dir,
                                 .batch_size = flags.integer("batch-size"), .seed = seed,
                                 .augment = f.dataset == "cifar10"});
  const auto classes = static_cast<int64_t>(data.test_set.classes().size());
  const examples::Evaluation fev = examples::evaluate(*f.model, data.test_loader, classes);

  auto model = quant::prepare_qat(*f.model, examples::qconfig_from_flags(flags, *f.model));
  const int64_t used = examples::calibrate(*model, data.train_set, examples::sampling_from_flags(flags));
  const examples::Evaluation start = examples::evaluate_frozen(*model, data.test_loader, classes);
  std::printf("%s QAT, %d thread(s): float %.2f%%, fake-quant after calibrating on %lld images %.2f%%\n",
              f.arch.c_str(), threads, 100.0 * fev.accuracy, static_cast<long long>(used),
              100.0 * start.accuracy);

  optim::SGD opt(model->parameters(), {.lr = static_cast<float>(flags.real("lr")),
                                       .momentum = static_cast<float>(flags.real("momentum"))});
  // Fine-tuning, not training from scratch: the learning rate decays from --lr to 0 over all the
  // steps (cosine), so the last steps settle the weights onto the quantization grid gently
  // instead of leaving them where the last large step threw them.
  const int64_t epochs = flags.integer("epochs");
  optim::CosineAnnealing schedule({.base_lr = static_cast<float>(flags.real("lr")),
                                   .t_max = std::max<int64_t>(1, epochs * static_cast<int64_t>(data.train_loader.num_batches()))});
  schedule.apply(opt);
  examples::TrainingLog log("qat", f.arch, {{"threads", threads}, {"seed", seed}, {"bits", flags.integer("bits")},
                            {"batch_size", flags.integer("batch-size")}, {"lr", flags.real("lr")}});
  examples::Evaluation qev = start;
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    // Weights always track their current range; only the activation ranges freeze.
    if (epoch == flags.integer("freeze-after")) {
      for (const auto& [name, m] : model->children())
        if (auto* fq = dynamic_cast<quant::FakeQuantize*>(m.get())) fq->set_observe(false);
    }
    examples::EpochResult trained = examples::train_epoch(*model, data.train_loader, opt, epoch, epochs, &schedule);
    qev = examples::evaluate_frozen(*model, data.test_loader, classes);
    log.epoch(epoch + 1, trained.stats, qev, trained.seconds);
  }
  log.finish("", "");
  // The ranges are final now: the integer model gets them, and the comparison below must see
  // the fake-quant model that was evaluated, not one whose ranges move with the test images.
  quant::set_observe(*model, false);
  auto int_model = quant::convert(*model);
  int_model->input_spec = examples::input_spec(data.train_set);
  const examples::Evaluation iev = examples::evaluate(*int_model, data.test_loader, classes);
  const examples::Agreement agree = examples::compare_models(*model, *int_model, data.test_loader);
  std::printf("integer model accuracy %.2f%%; integer vs fake-quant: same prediction on %.2f%% of %lld images, "
              "max |logit diff| %.5f (output step %.5f)\n", 100.0 * iev.accuracy, 100.0 * agree.prediction_match,
              static_cast<long long>(agree.images), agree.max_logit_diff, int_model->output_qparams.scale[0]);
  std::printf("float test accuracy %.2f%%, QAT fake-quant test accuracy %.2f%% (w%lld a%lld)\n",
              100.0 * fev.accuracy, 100.0 * qev.accuracy, static_cast<long long>(flags.integer("bits")),
              static_cast<long long>(flags.integer("act-bits") > 0 ? flags.integer("act-bits") : flags.integer("bits")));
  const int64_t saved_bytes = examples::save_quantized(flags, *int_model, f.arch);
  if (saved_bytes) std::printf("integer model saved to %s (%lld bytes)\n", flags.str("save").c_str(), static_cast<long long>(saved_bytes));
  nlohmann::json metrics = {{"program", "qat"}, {"model", flags.str("model")}, {"arch", f.arch},
                            {"bits", flags.integer("bits")}, {"act_bits", flags.integer("act-bits")},
                            {"epochs", epochs}, {"lr", flags.real("lr")}, {"calib_samples", used},
                            {"threads", threads}, {"fake_quant_test_accuracy_before_training", start.accuracy}};
  metrics.update(examples::quantized_results(fev, qev, iev, agree, *int_model, *f.model, flags.str("model"), saved_bytes));
  examples::write_json(flags.str("metrics-json"), metrics);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "qat: %s\n", e.what());
  return 1;
}
