/* ngp/scene.h: NeRF scenes in instant-ngp's transforms.json format (NGP-SPEC §1).
 *
 *   ngp_scene scene;
 *   ngp_error err;
 *   ngp_scene_options opts;
 *   ngp_scene_options_default(&opts);
 *   if (ngp_scene_load("data/nerf/fox", &opts, &scene, &err) != NGP_OK) { puts(err.msg); ... }
 *   ... scene.frames[i].xform is camera-to-world in ngp units ...
 *   ngp_scene_free(&scene);
 *
 * A scene path is a .json file or a directory. In a directory, transforms_train.json is loaded
 * when present, else transforms.json, else every *.json in it that has a "frames" array (in
 * natural order); what was loaded and what was left out is recorded in the scene. Frames are
 * sorted by file_path in natural order. A frame whose image file is missing is skipped with one
 * warning; a scene with no usable frame is an error. */
#ifndef NGP_SCENE_H
#define NGP_SCENE_H

#include "ngp/common.h"
#include "ngp/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ngp_lens_mode {
  NGP_LENS_PINHOLE = 0,
  NGP_LENS_OPENCV,         /* params = k1, k2, p1, p2 (k3 is ignored, as instant-ngp does) */
  NGP_LENS_OPENCV_FISHEYE, /* params = k1, k2, k3, k4 */
} ngp_lens_mode;

typedef struct ngp_lens {
  ngp_lens_mode mode;
  float params[4];
} ngp_lens;

typedef struct ngp_frame {
  char *file_path;    /* as written in the json */
  char *image_path;   /* the image file it resolved to */
  int source;         /* index into ngp_scene.sources */
  int json_index;     /* position in that file's "frames" array */
  ngp_image image;    /* rgba is NULL unless the scene was loaded with load_images */
  float focal[2];     /* focal length in pixels, x and y */
  float principal[2]; /* principal point as a fraction of the image size; (0.5, 0.5) is the centre */
  ngp_lens lens;
  float xform_nerf[12]; /* camera-to-world as in the json, 3x4 row-major (rotation renormalised) */
  float xform[12];      /* the same camera in ngp units and axes (NGP-SPEC §1.4) */
} ngp_frame;

typedef struct ngp_scene {
  ngp_frame *frames;
  int n_frames;
  char **sources; /* the json files loaded, in load order */
  int n_sources;
  char **ignored; /* json files in the scene folder that were not loaded */
  int n_ignored;
  char **skipped; /* "FILE: frames[i] (file_path)" of frames skipped for a missing image */
  int n_skipped;
  float scale;                    /* NeRF units to ngp units (default 0.33) */
  float offset[3];                /* added after scaling, in NeRF axis order (default 0.5) */
  int aabb_scale;                 /* power of two, 1..128 */
  int n_cascades;                 /* occupancy cascades: log2(aabb_scale) + 1 */
  float aabb_min[3], aabb_max[3]; /* the scene box in ngp units: a cube of side aabb_scale at 0.5 */
  bool has_up;
  float up[3]; /* "up" from the json, in ngp axes */
  bool images_loaded;
  bool has_alpha;     /* some loaded pixel has alpha < 255 */
  int n_renormalised; /* frames whose rotation had |det - 1| > 0.01 and was renormalised */
} ngp_scene;

typedef struct ngp_scene_options {
  bool load_images;   /* false: only read image headers (sizes), for quick inspection */
  bool keep_missing;  /* keep frames whose image is missing (camera paths): their size comes from
                         the json's w/h, which must then be given; image.rgba stays NULL */
  int n_threads;      /* image decoding threads; <= 0 uses all cores */
  bool quiet_skipped; /* no warning for frames skipped for a missing image (the caller lists
                         scene.skipped itself); by default one warning names them all */
  /* A train/held-out split (instant-ngp's and nerfstudio's "every Nth image"): with
   * holdout_every N > 1 the frames listed 0, N, 2N, ... (in load order) are held out; the scene
   * keeps the others, or only those with holdout_only. 0 (default): every frame. */
  int holdout_every;
  bool holdout_only;
} ngp_scene_options;

void ngp_scene_options_default(ngp_scene_options *opts);
ngp_status ngp_scene_load(const char *path, const ngp_scene_options *opts, ngp_scene *scene, ngp_error *err);
void ngp_scene_free(ngp_scene *scene);

/* Bytes held by the decoded images. */
size_t ngp_scene_image_bytes(const ngp_scene *scene);
const char *ngp_lens_mode_name(ngp_lens_mode mode);

#ifdef __cplusplus
}
#endif
#endif
