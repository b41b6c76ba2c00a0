#include "datasets/dataset.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>

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
  Dataset out(shape_, std::move(pixels), std::move(labels), classes_);
  out.name_ = name_;
  out.normalization_ = normalization_;
  return out;
}

void Dataset::set_normalization(Normalization n) {
  if (n.mean.empty() && n.std.empty()) {
    normalization_ = {};
    return;
  }
  check(static_cast<int64_t>(n.mean.size()) == shape_.channels && static_cast<int64_t>(n.std.size()) == shape_.channels,
        "Dataset::set_normalization", name_, ": ", n.mean.size(), " means and ", n.std.size(), " stds for ",
        shape_.channels, " channels");
  for (size_t c = 0; c < n.mean.size(); ++c)
    check(std::isfinite(n.mean[c]) && std::isfinite(n.std[c]) && n.std[c] > 0, "Dataset::set_normalization", name_,
          ": channel ", c, " has mean ", n.mean[c], " and std ", n.std[c], " (need finite values, std > 0)");
  normalization_ = std::move(n);
}

Normalization channel_statistics(const Dataset& set) {
  const ImageShape& s = set.shape();
  check(set.size() > 0, "channel_statistics", "data set '", set.name(), "' holds no images");
  const auto plane = static_cast<size_t>(s.height * s.width);
  std::vector<std::array<uint64_t, 256>> count(static_cast<size_t>(s.channels));
  for (auto& c : count) c.fill(0);
  for (size_t i = 0; i < set.size(); ++i) {
    const uint8_t* p = set.get(i).pixels;
    for (size_t c = 0; c < count.size(); ++c)
      for (size_t k = 0; k < plane; ++k) ++count[c][p[c * plane + k]];
  }
  Normalization n;
  const double values = static_cast<double>(set.size()) * static_cast<double>(plane);
  for (size_t c = 0; c < count.size(); ++c) {
    double sum = 0, sum_sq = 0;
    for (int v = 0; v < 256; ++v) {
      const double x = v / 255.0, k = static_cast<double>(count[c][v]);
      sum += k * x;
      sum_sq += k * x * x;
    }
    const double mean = sum / values, var = std::max(0.0, sum_sq / values - mean * mean);
    check(var > 0, "channel_statistics", "data set '", set.name(), "': channel ", c,
          " has the same value in every pixel, so it has no standard deviation to normalize by");
    n.mean.push_back(static_cast<float>(mean));
    n.std.push_back(static_cast<float>(std::sqrt(var)));
  }
  return n;
}

std::string folder_name(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(dir), ec).lexically_normal();
  if (ec) p = fs::path(dir).lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p.filename().string();
}

}  // namespace qgrad::data
