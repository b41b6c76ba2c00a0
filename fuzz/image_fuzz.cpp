// Fuzz target: data::decode_image (PNG/JPEG through stb_image behind qgrad's checks), the
// decoder ImageFolder runs on every file. A decoded image's every byte is read, so a buffer
// shorter than H*W*C shows up under ASan.
#include "datasets/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const qgrad::data::DecodedImage d = qgrad::data::decode_image(data, size);
  if (!d.pixels) {
    if (d.error.empty()) __builtin_trap();  // a failure must say why
    return 0;
  }
  if (d.shape.numel() <= 0) __builtin_trap();
  volatile unsigned sum = 0;  // volatile: the reads must happen
  for (int64_t i = 0; i < d.shape.numel(); ++i) sum = sum + d.pixels.get()[i];
  return 0;
}
