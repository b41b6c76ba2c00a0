// Times the data pipeline: loading MNIST and CIFAR-10 from disk, and one epoch of DataLoader
// batches (with CIFAR's crop+flip augmentation), to see whether loading or batching could ever
// be the bottleneck of a training loop. Run `make data` first.
//   usage: bench_data [data_dir]   (default: data)
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "core/threads.h"
#include "datasets/cifar10.h"
#include "datasets/data_loader.h"
#include "datasets/mnist.h"

using namespace qgrad;
using namespace qgrad::data;

static double seconds(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

static void time_epoch(const char* name, const Dataset& ds, DataLoaderOptions opt) {
  DataLoader loader(ds, opt);
  loader.set_epoch(1);
  double checksum = 0;
  double t = seconds([&] {
    for (size_t b = 0; b < loader.num_batches(); ++b) checksum += loader.batch(b).images.data<float>()[0];
  });
  std::printf("%-34s %8.3f s  (%zu batches of %lld, %.1f us/batch; checksum %g)\n", name, t, loader.num_batches(),
              static_cast<long long>(opt.batch_size), 1e6 * t / loader.num_batches(), checksum);
}

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "data";
  std::printf("threads: %d\n", get_num_threads());
  try {
    double t = seconds([&] { MNIST train(dir + "/mnist", Split::Train); });
    std::printf("%-34s %8.3f s\n", "MNIST train load (60k, .gz)", t);
    MNIST train(dir + "/mnist", Split::Train);
    time_epoch("MNIST epoch, batch 64, shuffle", train,
               {.batch_size = 64, .shuffle = true, .mean = {0.1307f}, .std = {0.3081f}});
  } catch (const std::exception& e) {
    std::printf("MNIST skipped: %s\n", e.what());
  }
  try {
    double t = seconds([&] { CIFAR10 train(dir + "/cifar10", Split::Train); });
    std::printf("%-34s %8.3f s\n", "CIFAR-10 train load (50k)", t);
    CIFAR10 train(dir + "/cifar10", Split::Train);
    time_epoch("CIFAR-10 epoch, batch 128, crop+flip", train,
               {.batch_size = 128, .shuffle = true, .mean = {0.4914f, 0.4822f, 0.4465f},
                .std = {0.2470f, 0.2435f, 0.2616f}, .crop_padding = 4, .random_flip = true});
  } catch (const std::exception& e) {
    std::printf("CIFAR-10 skipped: %s\n", e.what());
  }
}
