/* fuzz_scene.c: libFuzzer target for the transforms.json loader (ngp_scene_load, NGP-SPEC §1).
 *
 * The input is the text of a transforms.json, written into a scratch folder that also holds four
 * small images: train/r_0.png (4x3 RGB), train/r_1.png (4x3 RGBA), train/r_2.png (8x6 grey) and
 * train/bad.png (not an image), plus train/fifo.png, dir.png and loop.png (a FIFO, a folder and a
 * symlink loop: refused by name, never opened), so that frames naming them ("./train/r_0", with or without the
 * extension) reach pass 2 (image decoding) and pass 3 (intrinsics, size checks, poses). Inputs of
 * even length load the images, odd ones only read their headers (load_images = false): both paths
 * run. Inputs that could name files outside the folder are skipped (fuzz_escapes).
 *
 * Oracle: besides the sanitizers, a scene that loads must be usable: at least one frame, every
 * image size positive, focal lengths finite and positive, principal points and poses finite. */
#include "fuzz_common.h"

#include <math.h>

static void write_image(const char *rel, int w, int h, int channels) {
  uint8_t px[8 * 6 * 4];
  for (int i = 0; i < w * h; i++)
    for (int c = 0; c < 4; c++)
      px[i * 4 + c] = (uint8_t)(channels == 1 ? 40 * i : 30 * i + 50 * c);
  if (channels < 4)
    for (int i = 0; i < w * h; i++)
      px[i * 4 + 3] = 255;
  char path[4200];
  fuzz_path(path, sizeof path, rel);
  ngp_image img = {w, h, channels, px};
  ngp_error err;
  if (ngp_image_write_png(path, &img, &err) != NGP_OK) {
    fprintf(stderr, "fuzz: %s\n", err.msg);
    abort();
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_dir("scene");
  char path[4200];
  fuzz_path(path, sizeof path, "train");
  mkdir(path, 0755);
  write_image("train/r_0.png", 4, 3, 3);
  write_image("train/r_1.png", 4, 3, 4);
  write_image("train/r_2.png", 8, 6, 1);
  fuzz_path(path, sizeof path, "train/bad.png");
  fuzz_write(path, "not an image\n", 13);
  fuzz_non_regular("train/", ".png"); /* train/fifo.png, train/dir.png, train/loop.png */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fuzz_escapes(data, size)) return 0;
  char path[4200];
  fuzz_path(path, sizeof path, "transforms.json");
  fuzz_write(path, data, size);
  ngp_scene_options opts;
  ngp_scene_options_default(&opts);
  opts.n_threads = 1;
  opts.load_images = size % 2 == 0;
  ngp_scene s;
  ngp_error err;
  if (ngp_scene_load(path, &opts, &s, &err) != NGP_OK) {
    FUZZ_CHECK(err.msg[0] != '\0');
    return 0;
  }
  FUZZ_CHECK(s.n_frames > 0);
  FUZZ_CHECK(s.aabb_scale >= 1 && s.aabb_scale <= 128 && (s.aabb_scale & (s.aabb_scale - 1)) == 0);
  for (int i = 0; i < s.n_frames; i++) {
    const ngp_frame *f = &s.frames[i];
    FUZZ_CHECK(f->image.width > 0 && f->image.height > 0);
    FUZZ_CHECK(opts.load_images == (f->image.rgba != NULL));
    for (int a = 0; a < 2; a++) {
      FUZZ_CHECK(isfinite(f->focal[a]) && f->focal[a] > 0.0f);
      FUZZ_CHECK(isfinite(f->principal[a]));
    }
    for (int k = 0; k < 12; k++)
      FUZZ_CHECK(isfinite(f->xform[k]));
  }
  ngp_scene_free(&s);
  return 0;
}
