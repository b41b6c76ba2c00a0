#include "datasets/dataset.h"

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

}  // namespace qgrad::data
