// ImageFolder: images sorted into one subfolder per class, root/<class>/*.png|jpg|jpeg.
// Classes are the sorted subfolder names (label = position in that list) and files are taken
// in sorted name order, so the same folder always yields the same dataset. Decoding
// (datasets/image_decode.h: libjpeg-turbo for JPEG, stb_image for PNG) runs in parallel on the
// thread pool (core/parallel.h), each file into its own slot, so the order does not depend on
// thread timing.
#pragma once
#include <string>

#include "datasets/dataset.h"

namespace qgrad::data {

// A size of 0 means "not required"; all images must still share one shape (the first file's),
// since the dataset stores them in one buffer. A file with another shape or channel count is an
// error naming it; images are never resized or converted.
struct ImageFolderOptions {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
};

class ImageFolder : public Dataset {
 public:
  explicit ImageFolder(const std::string& root, ImageFolderOptions options = {});
};

}  // namespace qgrad::data
