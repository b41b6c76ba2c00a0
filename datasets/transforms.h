// Turning one stored uint8 image into the float input a network sees, with the optional
// augmentation for training: random crop with zero padding, then random horizontal flip.
//
//   out[c, y, x] = (in[c, sy, sx] / 255 - mean[c]) / std[c]
//   sy = y + dy - pad,  sx = (flip ? W-1-x : x) + dx - pad
//   where (sy, sx) falls outside the image, in[...] is the pixel value 0
//
// i.e. the image is padded by `pad` black pixels on every side, an H x W window at offset
// (dy, dx) in [0, 2*pad] is cut out, and that window is mirrored left-right when flip is set
// (torchvision's RandomCrop(padding=pad, fill=0) followed by RandomHorizontalFlip). With pad = 0,
// dy = dx = 0 and no flip it is plain normalization. Shapes: C = channels, H = height, W = width.
#pragma once
#include <cstdint>
#include <vector>

#include "core/random.h"
#include "datasets/dataset.h"

namespace qgrad::data {

// Where the output window sits in the padded image, and whether it is mirrored.
struct Placement {
  int64_t dy = 0, dx = 0;
  bool flip = false;
};

// Draws a placement: dy, dx uniform in [0, 2*pad], flip with probability 1/2 when random_flip.
Placement random_placement(Generator& gen, int64_t pad, bool random_flip);

// Writes the C*H*W floats of the formula above to out. mean and inv_std hold one value per
// channel (inv_std = 1/std, so the inner loop multiplies).
void normalize_image(const uint8_t* in, const ImageShape& shape, int64_t pad, const Placement& where,
                     const std::vector<float>& mean, const std::vector<float>& inv_std, float* out);

}  // namespace qgrad::data
