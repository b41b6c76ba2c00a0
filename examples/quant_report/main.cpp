// quant_report: one table from the --metrics-json files of ptq and qat runs on the same float
// checkpoint: test accuracy, file size and inference speed of the float model and of each integer
// model, with the ratios against float. `make demo` ends with it.
//   build/examples/quant_report --runs build/demo/ptq_int8.json,build/demo/qat_int4.json
// The float row comes from the first file (every ptq/qat run measures its float model itself).
// Speed is the forward pass alone over the test set in batches of 500 (examples/common/task.h),
// so it shows what quantization does to the model, not to data loading.
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "examples/common/cli.h"
#include "examples/common/task.h"

using namespace qgrad;
using nlohmann::json;

namespace {

json read_metrics(const std::string& path) {
  std::ifstream in(path);
  check(static_cast<bool>(in), "quant_report", path, ": cannot open the file");
  json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    fail("quant_report", path, ": not valid JSON (", e.what(), ")");
  }
  for (const char* key : {"program", "bits", "float_test_accuracy", "int_test_accuracy", "float_weight_bytes",
                          "quantized_file_bytes", "float_images_per_second", "int_images_per_second"})
    check(j.contains(key), "quant_report", path, ": no \"", key,
          "\" (expected the --metrics-json of a ptq or qat run)");
  return j;
}

struct Row {
  std::string name;
  double accuracy, bytes, images_per_second;
};

std::string ratio(double value, double base) {
  if (base <= 0 || value <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", value / base);
  return buf;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"quant_report: one table of float and quantized accuracy, size and speed from ptq / qat runs"};
  std::vector<std::string> paths;
  std::string markdown, metrics_json;
  app.add_option("--runs", paths, "comma-separated --metrics-json files of ptq / qat runs (the first gives the float row)")
      ->required()->delimiter(',')->check(examples::existing_file());
  app.add_option("--markdown", markdown, "also write the table to this file")->check(examples::writable_file());
  app.add_option("--metrics-json", metrics_json, "write the rows as JSON")->check(examples::writable_file());
  examples::parse(app, argc, argv);

  std::vector<Row> rows;
  for (size_t i = 0; i < paths.size(); ++i) {
    const json m = read_metrics(paths[i]);
    if (i == 0)
      rows.push_back({"float32", m["float_test_accuracy"].get<double>(), m["float_weight_bytes"].get<double>(),
                      m["float_images_per_second"].get<double>()});
    const std::string program = m["program"].get<std::string>();
    const int64_t bits = m["bits"].get<int64_t>();
    const int64_t act_bits = m.value("act_bits", int64_t{0}) > 0 ? m["act_bits"].get<int64_t>() : bits;
    rows.push_back({"int" + std::to_string(bits) + " " + (program == "qat" ? "QAT" : "PTQ") + " (w" +
                        std::to_string(bits) + "a" + std::to_string(act_bits) + ")",
                    m["int_test_accuracy"].get<double>(), m["quantized_file_bytes"].get<double>(),
                    m["int_images_per_second"].get<double>()});
  }

  const Row& base = rows.front();
  std::ostringstream table;
  table << "| model | test accuracy | vs float | bytes | size vs float | images/s | speed vs float |\n"
        << "|---|---|---|---|---|---|---|\n";
  json out = json::array();
  for (const Row& r : rows) {
    char acc[32], delta[32];
    std::snprintf(acc, sizeof acc, "%.2f%%", 100.0 * r.accuracy);
    std::snprintf(delta, sizeof delta, "%+.2f", 100.0 * (r.accuracy - base.accuracy));
    table << "| " << r.name << " | " << acc << " | " << (&r == &base ? "-" : delta) << " | "
          << static_cast<int64_t>(r.bytes) << " | " << ratio(r.bytes, base.bytes) << " | "
          << static_cast<int64_t>(r.images_per_second) << " | " << ratio(r.images_per_second, base.images_per_second)
          << " |\n";
    out.push_back({{"model", r.name}, {"test_accuracy", r.accuracy}, {"file_bytes", r.bytes},
                   {"images_per_second", r.images_per_second}});
  }
  table << "\nbytes: files in the same safetensors container; float32 = the float model saved alone (its "
           "training checkpoint also holds the optimizer state), integer models = the saved file.\n";
  std::fputs(table.str().c_str(), stdout);
  if (!markdown.empty()) write_file_atomically(markdown, table.str());
  examples::write_json(metrics_json, out);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "quant_report: %s\n", e.what());
  return 1;
}
