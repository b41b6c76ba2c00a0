// evaluate: loads a checkpoint written by a training program (rebuilding its model from the
// architecture recorded in the file) or an integer model written by ptq/qat --save, and reports test accuracy, per-class accuracy and the
// confusion matrix (rows: true class, columns: predicted class). An integer model whose file
// records its input preprocessing (quant/intmodel/input_spec.h) is fed the images that way.
//   build/examples/evaluate --model lenet5.safetensors [--data data/mnist]
#include <cstdio>
#include <exception>
#include <optional>

#include "examples/common/cli.h"
#include "examples/common/models.h"
#include "examples/common/task.h"
#include "nn/nn.h"
#include "quant/intmodel/int_model_file.h"

using namespace qgrad;

int main(int argc, char** argv) try {
  CLI::App app{"evaluate: test accuracy, per-class accuracy and confusion matrix of a saved model"};
  std::string path, data_folder, metrics_json;
  int64_t batch_size = 500;
  examples::RuntimeFlags runtime;
  app.add_option("--model", path, "checkpoint to evaluate (.safetensors): a training program's or ptq/qat --save's")
      ->required()->check(examples::existing_file());
  app.add_option("--data", data_folder, "folder holding the data set's files (default: data/<dataset>)");
  app.add_option("--batch-size", batch_size, "images per forward pass")->check(examples::integer_in(1, 65'536));
  app.add_option("--metrics-json", metrics_json, "write accuracy, per-class accuracy and the confusion matrix here")
      ->check(examples::writable_file());
  examples::add_runtime_flags(app, runtime);
  examples::parse(app, argc, argv);
  examples::apply(runtime);
  const Device device = examples::device(runtime);  // --device cpu|cuda

  // A float checkpoint or an integer model (ptq/qat --save): the metadata says which.
  const nn::SafeTensors file = nn::load_safetensors(path);
  auto arch_it = file.metadata.find("arch");
  check(arch_it != file.metadata.end(), "evaluate", path,
        ": no 'arch' in the file's metadata; it was not written by a qgrad training or quantization program");
  const std::string arch = arch_it->second, dataset = examples::dataset_of(arch);
  std::shared_ptr<nn::Module> model;
  std::string what;
  std::optional<quant::InputSpec> spec;  // the file's preprocessing, when it records one
  if (quant::is_int_model(file.metadata)) {
    auto int_model = quant::read_int_model(file, path).model;
    spec = int_model->input_spec;
    int_model->set_execution_device(device);  // its GEMM layers run on the GPU with --device cuda
    model = int_model;
    what = "integer model";
  } else {
    const nn::Checkpoint ckpt = nn::read_checkpoint(path);
    auto float_model = examples::make_model(arch, 0);
    float_model->load_state_dict(ckpt.model);
    float_model->to(device);
    model = float_model;
    what = "epoch " + std::to_string(ckpt.training.epoch);
  }

  const std::string dir = examples::data_dir(data_folder, dataset);
  data::Dataset test_set = examples::load_dataset(dataset, dir, data::Split::Test);
  data::DataLoaderOptions options = examples::loader_options(test_set, batch_size);
  if (spec) {
    check(spec->shape == test_set.shape(), "evaluate", path, " expects ", data::shape_str(spec->shape),
          " images, but the ", dataset, " test images in ", dir, " are ", data::shape_str(test_set.shape()));
    options.mean = spec->mean;
    options.std = spec->std;
    std::printf("input preprocessing from the file: %s\n", quant::describe(*spec).c_str());
  }
  data::DataLoader loader(test_set, options);
  examples::Evaluation ev = examples::evaluate(*model, loader, static_cast<int64_t>(test_set.classes().size()));

  std::printf("%s (%s, %s) on %zu %s test images: accuracy %.2f%%, loss %.4f\n", path.c_str(), arch.c_str(),
              what.c_str(), test_set.size(), test_set.name().c_str(),
              100.0 * ev.accuracy, ev.loss);
  const auto& names = test_set.classes();
  nlohmann::json per_class = nlohmann::json::object();
  std::printf("\n%-12s %8s   confusion (true \\ predicted)\n", "class", "accuracy");
  for (size_t t = 0; t < names.size(); ++t) {
    int64_t total = 0;
    for (int64_t v : ev.confusion[t]) total += v;
    const double acc = total ? static_cast<double>(ev.confusion[t][t]) / total : 0;
    per_class[names[t]] = acc;
    std::printf("%-12s %7.2f%%  ", names[t].c_str(), 100.0 * acc);
    for (int64_t v : ev.confusion[t]) std::printf(" %5lld", static_cast<long long>(v));
    std::printf("\n");
  }
  examples::write_json(metrics_json,
                       {{"program", "evaluate"}, {"model", path}, {"arch", arch},
                        {"test_accuracy", ev.accuracy}, {"test_loss", ev.loss}, {"per_class_accuracy", per_class},
                        {"confusion", ev.confusion}, {"classes", names}});
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "evaluate: %s\n", e.what());
  return 1;
}
