#include "datasets/transforms.h"

namespace qgrad::data {

Placement random_placement(Generator& gen, int64_t pad, bool random_flip) {
  Placement p;
  if (pad > 0) {
    const uint64_t span = static_cast<uint64_t>(2 * pad + 1);
    p.dy = static_cast<int64_t>(gen.below(span));
    p.dx = static_cast<int64_t>(gen.below(span));
  }
  if (random_flip) p.flip = gen.below(2) == 1;
  return p;
}

void normalize_image(const uint8_t* in, const ImageShape& shape, int64_t pad, const Placement& where,
                     const std::vector<float>& mean, const std::vector<float>& inv_std, float* out) {
  const int64_t H = shape.height, W = shape.width;
  for (int64_t c = 0; c < shape.channels; ++c) {
    const uint8_t* plane = in + c * H * W;
    float* dst = out + c * H * W;
    for (int64_t y = 0; y < H; ++y) {
      const int64_t sy = y + where.dy - pad;
      for (int64_t x = 0; x < W; ++x) {
        const int64_t sx = (where.flip ? W - 1 - x : x) + where.dx - pad;
        const bool inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
        const float v = inside ? plane[sy * W + sx] : 0.f;
        dst[y * W + x] = (v / 255.f - mean[c]) * inv_std[c];
      }
    }
  }
}

}  // namespace qgrad::data
