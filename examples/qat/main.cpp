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
#include "examples/common/finite.h"
#include "examples/common/progress.h"
#include "examples/common/quantization.h"
#include "examples/common/task.h"
#include "nn/nn.h"
#include "quant/intmodel/convert.h"
#include "quant/fakequant/fake_quantize_module.h"
#include "quant/fakequant/prepare.h"

using namespace qgrad;

int main(int argc, char** argv) try {
  CLI::App app{"qat: quantization-aware training from a float checkpoint"};
  examples::QuantizationFlags flags{.observer = "ema"};
  examples::add_quantization_flags(app, flags);
  int64_t epochs = 2, batch_size = 64, freeze_after = 1;
  double lr = 0.005, momentum = 0.9;
  app.add_option("--epochs", epochs, "training epochs")->check(examples::integer_in(1, 1'000'000));
  app.add_option("--lr", lr, "SGD learning rate")->check(examples::number_in(0, 1e6, examples::Open::Low));
  app.add_option("--momentum", momentum, "SGD momentum")->check(examples::number_in(0, 1, examples::Open::High));
  app.add_option("--batch-size", batch_size, "images per step")->check(examples::integer_in(1, 65'536));
  app.add_option("--freeze-after", freeze_after, "freeze the activation observers from this epoch on (0-based)")
      ->check(examples::integer_in(0, 1'000'000));
  examples::parse(app, argc, argv);
  const int threads = examples::apply(flags.runtime);
  const Device device = examples::device(flags.runtime);  // --device cpu|cuda

  examples::FloatModel f = examples::load_float_model(flags.model);
  f.model->to(device);  // fine-tuning (fake-quant forward, STE backward) runs where the model is
  const std::string dir = examples::data_dir(flags.data, f.dataset);
  // Fine-tuning uses the float training's augmentation (cifar_cnn trains with crop + flip).
  examples::ClassifierData task_data({.dataset = f.dataset, .dir = dir, .batch_size = batch_size, .seed = flags.seed,
                                 .augment = f.dataset == "cifar10"});
  const auto classes = static_cast<int64_t>(task_data.test_set.classes().size());
  const examples::Evaluation fev = examples::evaluate(*f.model, task_data.test_loader, classes);

  auto model = quant::prepare_qat(*f.model, examples::qconfig_from_flags(flags, *f.model));
  model->to(device);  // the fake-quantizers' buffers too
  const int64_t used = examples::calibrate(*model, task_data.train_set, examples::sampling_from_flags(flags));
  const examples::Evaluation start = examples::evaluate_frozen(*model, task_data.test_loader, classes);
  std::printf("%s QAT, %d thread(s): float %.2f%%, fake-quant after calibrating on %lld images %.2f%%\n",
              f.arch.c_str(), threads, 100.0 * fev.accuracy, static_cast<long long>(used),
              100.0 * start.accuracy);

  nn::CrossEntropyLoss criterion;
  optim::SGD opt(model->parameters(), {.lr = static_cast<float>(lr), .momentum = static_cast<float>(momentum)});
  // Fine-tuning, not training from scratch: the learning rate decays from --lr to 0 over all the
  // steps (cosine), so the last steps settle the weights onto the quantization grid gently
  // instead of leaving them where the last large step threw them.
  const auto steps = static_cast<int64_t>(task_data.train_loader.num_batches());
  optim::CosineAnnealing schedule({.base_lr = static_cast<float>(lr), .t_max = std::max<int64_t>(1, epochs * steps)});
  schedule.apply(opt);
  examples::TrainingLog log("qat", f.arch, {{"threads", threads}, {"seed", flags.seed}, {"bits", flags.bits},
                            {"batch_size", batch_size}, {"lr", lr}});
  examples::Evaluation qev = start;
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    // Weights always track their current range; only the activation ranges freeze.
    if (epoch - 1 == freeze_after) {
      for (const auto& [name, m] : model->children())
        if (auto* fq = dynamic_cast<quant::FakeQuantize*>(m.get())) fq->set_observe(false);
    }
    model->train();
    task_data.train_loader.set_epoch(static_cast<uint64_t>(epoch - 1));
    examples::ProgressBar bar(epoch, epochs, task_data.train_loader.num_batches());
    examples::RunningStats stats;
    for (size_t step = 0; step < task_data.train_loader.num_batches(); ++step) {
      const data::Batch batch = task_data.train_loader.batch(step).to(device);
      Tensor logits = (*model)(batch.images);  // fake-quantized forward; the STE carries the gradient
      Tensor loss = criterion(logits, batch.labels);
      opt.zero_grad();
      loss.backward();
      examples::require_finite_step(loss, *model, epoch, static_cast<int64_t>(step));
      opt.step();
      schedule.step(opt);  // counted in steps
      stats.add(loss, logits, batch.labels);
      bar.update(stats);
    }
    bar.finish();
    qev = examples::evaluate_frozen(*model, task_data.test_loader, classes);
    log.epoch(epoch, stats, qev, bar.seconds());
  }
  log.finish("", "");
  // The ranges are final now: the integer model gets them, and the comparison below must see
  // the fake-quant model that was evaluated, not one whose ranges move with the test images.
  quant::set_observe(*model, false);
  // Conversion reads the trained weights and ranges on the host; the integer model's GEMM layers
  // then run on --device.
  model->to(Device::CPU);
  auto int_model = quant::convert(*model);
  int_model->set_execution_device(device);
  int_model->input_spec = examples::input_spec(task_data.train_set);
  const examples::Evaluation iev = examples::evaluate(*int_model, task_data.test_loader, classes);
  const examples::Agreement agree = examples::compare_models(*model, *int_model, task_data.test_loader);
  std::printf("integer model accuracy %.2f%%; integer vs fake-quant: same prediction on %.2f%% of %lld images, "
              "max |logit diff| %.5f (output step %.5f)\n", 100.0 * iev.accuracy, 100.0 * agree.prediction_match,
              static_cast<long long>(agree.images), agree.max_logit_diff, int_model->output_qparams.scale[0]);
  std::printf("float test accuracy %.2f%%, QAT fake-quant test accuracy %.2f%% (w%d a%d)\n",
              100.0 * fev.accuracy, 100.0 * qev.accuracy, flags.bits, flags.act_bits > 0 ? flags.act_bits : flags.bits);
  const int64_t saved_bytes = examples::save_quantized(flags, *int_model, f.arch);
  if (saved_bytes) std::printf("integer model saved to %s (%lld bytes)\n", flags.save.c_str(), static_cast<long long>(saved_bytes));
  nlohmann::json metrics = {{"program", "qat"}, {"model", flags.model}, {"arch", f.arch},
                            {"bits", flags.bits}, {"act_bits", flags.act_bits},
                            {"epochs", epochs}, {"lr", lr}, {"calib_samples", used},
                            {"threads", threads}, {"fake_quant_test_accuracy_before_training", start.accuracy}};
  metrics.update(examples::quantized_results(fev, qev, iev, agree, *int_model, *f.model, flags.model, saved_bytes));
  examples::write_json(flags.metrics_json, metrics);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "qat: %s\n", e.what());
  return 1;
}
