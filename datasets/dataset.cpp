#include "datasets/dataset.h"

#include <algorithm>

#include "core/error.h"

namespace qgrad::data {

std::string shape_str(const ImageShape& s) { return cat(s.channels, "x", s.height, "x", s.width); }

Dataset::Dataset(ImageShape shape, std::vector<uint8_t> pixels, std::vector<int32_t> labels,
                 std::vector<std::string> classes)
    : shape_(shape), pixels_(std::move(pixels)), labels_(std::move(labels)), classes_(std::move(classes)) {
  check(shape_.channels > 0 && shape_.height > 0 && shape_.width > 0, "Dataset",
        "image shape must be positive, got ", shape_str(shape_));
  check(pixels_.size() == labels_.size() * static_cast<size_t>(shape_.numel()), "Dataset",
        pixels_.size(), " pixel bytes do not hold ", labels_.size(), " images of ", shape_str(shape_));
  for (size_t i = 0; i < labels_.size(); ++i) {
    check(labels_[i] >= 0 && static_cast<size_t>(labels_[i]) < classes_.size(), "Dataset", "label ",
          labels_[i], " of image ", i, " is outside [0, ", classes_.size(), ")");
  }
}

Sample Dataset::get(size_t i) const {
  check(i < labels_.size(), "Dataset::get", "index ", i, " out of range for ", labels_.size(), " images");
  return {pixels_.data() + i * static_cast<size_t>(shape_.numel()), labels_[i]};
}

Dataset Dataset::evenly_spaced(size_t n) const {
  n = std::min(n, size());
  const auto per_image = static_cast<size_t>(shape_.numel());
  std::vector<uint8_t> pixels(n * per_image);
  std::vector<int32_t> labels(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t src = i * size() / n;
    std::copy_n(pixels_.begin() + static_cast<std::ptrdiff_t>(src * per_image), per_image,
                pixels.begin() + static_cast<std::ptrdiff_t>(i * per_image));
    labels[i] = labels_[src];
  }
  return Dataset(shape_, std::move(pixels), std::move(labels), classes_);
}

}  // namespace qgrad::data
