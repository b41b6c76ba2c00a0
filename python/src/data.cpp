// qgrad.data: datasets and the DataLoader (datasets/*.h).
//
//   Python                                                      C++
//   Dataset(images, labels, classes=None)                       Dataset(ImageShape, pixels, labels, classes)
//     images: uint8 [N, C, H, W]; classes default "0".."K-1"
//   len(ds), ds.shape (C, H, W), ds.classes, ds.labels (int32)  size(), shape(), classes(), labels()
//   ds[i] -> (uint8 array [C, H, W] (a copy), label)            get(i)
//   ds.evenly_spaced(n)                                         evenly_spaced(n)
//   MNIST(root, train=True), CIFAR10(root, train=True)          MNIST/CIFAR10(dir, Split)
//   ImageFolder(root, channels=0, height=0, width=0)            ImageFolder(root, ImageFolderOptions)
//   DataLoader(dataset, batch_size=64, shuffle=False,           DataLoader(dataset, DataLoaderOptions{...})
//              drop_last=False, seed=0, mean=None, std=None,      mean/std: one number per channel
//              crop_padding=0, random_flip=False)
//   len(loader), loader.set_epoch(e), loader.batch(b),          num_batches(), set_epoch, batch(b),
//   loader.order, for images, labels in loader: ...             order(); the loop is batch(0..len-1)
// A DataLoader keeps its dataset alive (the C++ one only holds a reference). Iterating does not
// advance the epoch: call set_epoch(e) per epoch, as the C++ loop does, for a new shuffle.
#include <cstring>

#include "bindings.h"

namespace qgrad::python {

namespace {

using DatasetPtr = std::shared_ptr<data::Dataset>;

// A Dataset from NumPy: images uint8 [N, C, H, W], labels ints [N].
DatasetPtr dataset_from_numpy(py::object images_obj, py::object labels_obj, py::object classes) {
  // Anything np.asarray takes (labels as a list, say); the pixels must already be uint8.
  py::module_ np = py::module_::import("numpy");
  const py::array images = np.attr("asarray")(images_obj), labels = np.attr("asarray")(labels_obj);
  if (!py::isinstance<py::array_t<uint8_t>>(images) || images.dtype().kind() != 'u' || images.itemsize() != 1)
    throw py::type_error("qgrad.data.Dataset: images must be a uint8 array [N, C, H, W]");
  if (images.ndim() != 4) throw py::value_error(cat("qgrad.data.Dataset: images must be [N, C, H, W], got ", images.ndim(), " axes"));
  if (labels.dtype().kind() != 'i' && labels.dtype().kind() != 'u')
    throw py::type_error("qgrad.data.Dataset: labels must be integers");
  auto img = py::array_t<uint8_t, py::array::c_style>::ensure(images);
  auto lab = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(labels);
  if (lab.ndim() != 1) throw py::value_error("qgrad.data.Dataset: labels must be one-dimensional");
  std::vector<int32_t> labels_v;
  int64_t max_label = -1;
  for (py::ssize_t i = 0; i < lab.size(); ++i) {
    const int64_t v = lab.data()[i];
    if (v < 0 || v > INT32_MAX) throw py::value_error(cat("qgrad.data.Dataset: label ", v, " at ", i, " out of range"));
    labels_v.push_back(static_cast<int32_t>(v));
    max_label = std::max(max_label, v);
  }
  std::vector<std::string> names;
  if (classes.is_none())
    for (int64_t c = 0; c <= max_label; ++c) names.push_back(std::to_string(c));
  else
    names = classes.cast<std::vector<std::string>>();
  const data::ImageShape shape{images.shape(1), images.shape(2), images.shape(3)};
  std::vector<uint8_t> pixels(img.data(), img.data() + img.size());
  return std::make_shared<data::Dataset>(shape, std::move(pixels), std::move(labels_v), std::move(names));
}

// mean/std: None (empty), or one number per channel (a bare number for one channel).
std::vector<float> floats_arg(py::handle obj) {
  if (obj.is_none()) return {};
  if (py::isinstance<py::float_>(obj) || py::isinstance<py::int_>(obj)) return {obj.cast<float>()};
  return obj.cast<std::vector<float>>();
}

size_t index_arg(int64_t i, size_t n, const char* what) {
  const auto sn = static_cast<int64_t>(n);
  if (i < -sn || i >= sn) throw py::index_error(cat("qgrad.data.", what, ": index ", i, " out of range (", n, ")"));
  return static_cast<size_t>(i < 0 ? i + sn : i);
}

py::tuple batch_tuple(const data::DataLoader& loader, size_t b) {
  data::Batch batch;
  {
    py::gil_scoped_release release;
    batch = loader.batch(b);
  }
  return py::make_tuple(std::move(batch.images), std::move(batch.labels));
}

// The iterator of `for images, labels in loader`: batches 0 .. len-1 of the current epoch.
struct LoaderIterator {
  py::object loader;  // keeps the loader (and through it the dataset) alive
  size_t next = 0;
};

}  // namespace

void bind_data(py::module_& m) {
  py::class_<data::Dataset, DatasetPtr>(m, "Dataset", "Labelled uint8 images in memory (datasets/dataset.h)")
      .def(py::init(&dataset_from_numpy), py::arg("images"), py::arg("labels"), py::arg("classes") = py::none(),
           "images: uint8 [N, C, H, W]; labels: ints [N]; classes: names (default '0'..'K-1')")
      .def("__len__", &data::Dataset::size)
      .def_property_readonly("shape", [](const data::Dataset& d) {
        return py::make_tuple(d.shape().channels, d.shape().height, d.shape().width);
      }, "(C, H, W)")
      .def_property_readonly("classes", &data::Dataset::classes)
      .def_property_readonly("labels", [](const data::Dataset& d) {
        return py::array_t<int32_t>(static_cast<py::ssize_t>(d.labels().size()), d.labels().data());
      }, "int32 array (a copy)")
      .def("__getitem__", [](const data::Dataset& d, int64_t i) {
        const data::Sample s = d.get(index_arg(i, d.size(), "Dataset"));
        const auto& sh = d.shape();
        py::array_t<uint8_t> img({sh.channels, sh.height, sh.width});
        std::memcpy(img.mutable_data(), s.pixels, static_cast<size_t>(sh.numel()));
        return py::make_tuple(img, s.label);
      }, py::arg("i"), "(uint8 array [C, H, W] (a copy), label)")
      .def("evenly_spaced", [](const data::Dataset& d, size_t n) {
        return std::make_shared<data::Dataset>(d.evenly_spaced(n));
      }, py::arg("n"), "a copy with n samples at evenly spaced indices");

  py::class_<data::MNIST, data::Dataset, std::shared_ptr<data::MNIST>>(m, "MNIST", "datasets/mnist.h")
      .def(py::init([](const std::string& root, bool train) {
             return std::make_shared<data::MNIST>(root, train ? data::Split::Train : data::Split::Test);
           }), py::arg("root"), py::arg("train") = true, release_gil());
  py::class_<data::CIFAR10, data::Dataset, std::shared_ptr<data::CIFAR10>>(m, "CIFAR10", "datasets/cifar10.h")
      .def(py::init([](const std::string& root, bool train) {
             return std::make_shared<data::CIFAR10>(root, train ? data::Split::Train : data::Split::Test);
           }), py::arg("root"), py::arg("train") = true, release_gil());
  py::class_<data::ImageFolder, data::Dataset, std::shared_ptr<data::ImageFolder>>(m, "ImageFolder", "datasets/image_folder.h")
      .def(py::init([](const std::string& root, int64_t c, int64_t h, int64_t w) {
             return std::make_shared<data::ImageFolder>(root, data::ImageFolderOptions{.channels = c, .height = h, .width = w});
           }), py::arg("root"), py::arg("channels") = 0, py::arg("height") = 0, py::arg("width") = 0, release_gil());

  py::class_<LoaderIterator>(m, "_LoaderIterator")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", [](LoaderIterator& it) {
        const auto& loader = it.loader.cast<const data::DataLoader&>();
        if (it.next >= loader.num_batches()) throw py::stop_iteration();
        return batch_tuple(loader, it.next++);
      });

  py::class_<data::DataLoader>(m, "DataLoader", "Batches of float images [B, C, H, W] and int32 labels [B] (datasets/data_loader.h)")
      .def(py::init([](const data::Dataset& ds, int64_t batch_size, bool shuffle, bool drop_last, uint64_t seed,
                       py::object mean, py::object std, int64_t crop_padding, bool random_flip) {
             data::DataLoaderOptions o{.batch_size = batch_size, .shuffle = shuffle, .drop_last = drop_last, .seed = seed,
                                       .mean = floats_arg(mean), .std = floats_arg(std),
                                       .crop_padding = crop_padding, .random_flip = random_flip};
             return new data::DataLoader(ds, std::move(o));
           }), py::arg("dataset"), py::arg("batch_size") = 64, py::arg("shuffle") = false, py::arg("drop_last") = false,
           py::arg("seed") = 0, py::arg("mean") = py::none(), py::arg("std") = py::none(), py::arg("crop_padding") = 0,
           py::arg("random_flip") = false, py::keep_alive<1, 2>())
      .def("__len__", &data::DataLoader::num_batches)
      .def("set_epoch", &data::DataLoader::set_epoch, py::arg("epoch"), "reshuffles (when shuffle) by (seed, epoch)")
      .def("batch", [](const data::DataLoader& l, int64_t b) {
        return batch_tuple(l, index_arg(b, l.num_batches(), "DataLoader.batch"));
      }, py::arg("b"), "(images float32 [B, C, H, W], labels int32 [B])")
      .def_property_readonly("order", &data::DataLoader::order, "dataset indices in this epoch's order")
      .def("__iter__", [](py::object self) { return LoaderIterator{self, 0}; });
}

}  // namespace qgrad::python
