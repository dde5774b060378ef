/* fuzz_image.c: libFuzzer target for image decoding (ngp_image_info and ngp_image_load: stb_image
 * behind our size checks; PNG of every colour type and depth, JPEG, BMP, TGA, PNM:
 * the formats stb_impl.c compiles).
 *
 * The input is the file. Images the header says are larger than 2^22 pixels are only inspected,
 * not decoded: a legitimately huge image would spend the fuzzer's time on pixels, not on parsing
 * (the size limit itself is covered by test_scene's "absurd size" case).
 *
 * Oracle: info and load agree on the size, a decoded image is 8-bit RGBA of that size with a
 * channel count of 1 to 4, and a failure names the file. */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_dir("image");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[4200];
  fuzz_path(path, sizeof path, "image");
  fuzz_write(path, data, size);
  int w = 0, h = 0, c = 0;
  ngp_error err;
  if (ngp_image_info(path, &w, &h, &c, &err) != NGP_OK) {
    FUZZ_CHECK(strstr(err.msg, path) != NULL);
    return 0;
  }
  FUZZ_CHECK(w > 0 && h > 0 && w <= NGP_IMAGE_MAX_DIM && h <= NGP_IMAGE_MAX_DIM);
  if ((int64_t)w * h > ((int64_t)1 << 22)) return 0;
  ngp_image img;
  if (ngp_image_load(path, &img, &err) != NGP_OK) {
    FUZZ_CHECK(strstr(err.msg, path) != NULL && img.rgba == NULL);
    return 0;
  }
  FUZZ_CHECK(img.width == w && img.height == h && img.rgba != NULL);
  FUZZ_CHECK(img.source_channels >= 1 && img.source_channels <= 4);
  /* Touch every byte: ASan reports an allocation shorter than w*h*4. */
  unsigned sum = 0;
  for (size_t i = 0; i < (size_t)w * (size_t)h * 4; i++)
    sum += img.rgba[i];
  FUZZ_CHECK(sum <= 255u * (unsigned)w * (unsigned)h * 4u);
  ngp_image_free(&img);
  return 0;
}
