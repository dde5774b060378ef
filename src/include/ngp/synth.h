/* ngp/synth.h: an analytic test scene, rendered exactly, written in the NeRF-synthetic layout.
 *
 * The scene is a few solids (diffuse colours with fine procedural texture) on a transparent
 * background, seen from cameras on a sphere around it, in NeRF units and conventions (camera
 * looks down -z, +y up, the scene fits well inside instant-ngp's unit cube at scale 0.33).
 * ngp_synth_write_scene() writes transforms_train.json, transforms_test.json, train/r_<i>.png and
 * test/r_<i>.png; ngp_synth_render() renders any camera, which gives tests exact ground truth. */
#ifndef NGP_SYNTH_H
#define NGP_SYNTH_H

#include "ngp/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ngp_synth_options {
  int width, height;     /* pixels per view */
  int n_train, n_test;   /* views per split */
  uint32_t seed;         /* camera placement (and any other randomness) */
  float camera_angle_x;  /* horizontal field of view, radians */
  float camera_distance; /* camera distance from the origin, NeRF units */
  int spp;               /* supersamples per pixel (antialiasing) */
  int n_threads;         /* <= 0: all cores */
  bool textured;         /* opaque: a textured backdrop and noise on every surface, for feature
                            matchers (COLMAP's SIFT); false gives the plain scene, byte for byte */
  float backdrop_radius; /* textured: the backdrop sphere's radius, above camera_distance; a near
                            backdrop gives feature matchers parallax, a far one nearly none */
} ngp_synth_options;

/* Defaults: 200x200, 100 train and 20 test views, seed 0, camera_angle_x 0.6911112 (lego's),
 * camera_distance 4, spp 4 (a 2x2 grid), n_threads 0 (all cores), textured false, backdrop_radius
 * NGP_SYNTH_BACKDROP_RADIUS.
 * Textured: the albedos are colour value noise instead of checkers and stripes (whose repetition
 * misleads feature matchers), and rays that miss the solids see an unlit sphere of radius
 * backdrop_radius coloured with such noise: every pixel opaque, features everywhere. */
void ngp_synth_options_default(ngp_synth_options *opts);

/* Renders one view. c2w: 3x4 camera-to-world, row-major, NeRF convention. focal in pixels, the
 * principal point at the image centre. rgba: width*height*4 bytes, sRGB, straight alpha (the
 * fraction of the opts->spp samples that hit a surface; (0,0,0,0) where none does), rows from the
 * top. Uses only opts->spp (clamped to 1..64) and opts->n_threads (rows in parallel); opts may be
 * NULL for the defaults. Deterministic for the same arguments, whatever the thread count. */
void ngp_synth_render(const ngp_synth_options *opts, const float *c2w, float focal, int width, int height,
                      uint8_t *rgba);

/* Writes the whole scene into dir (created if needed): the images first, then the two json files,
 * so a transforms_*.json on disk means its images are complete. Validates *opts first and names
 * the option at fault. Same options give byte-identical files, whatever n_threads. */
ngp_status ngp_synth_write_scene(const char *dir, const ngp_synth_options *opts, ngp_error *err);

/* Every surface of the scene lies within this distance of the origin (NeRF units); cameras must
 * be farther than this. */
#define NGP_SYNTH_RADIUS 1.2f
/* The textured scene's default backdrop radius: a sphere about the origin, beyond every camera at
 * the default distance. ngp_synth_trace() ignores the backdrop (it traces the solids only). */
#define NGP_SYNTH_BACKDROP_RADIUS 12.0f

/* The cameras of one split, as written to transforms_{train,test}.json: c2w receives
 * n_train (test_split false) or n_test (true) 3x4 row-major camera-to-world matrices. Train
 * cameras depend on opts->seed; test cameras do not (a fixed spiral, held out from training). */
ngp_status ngp_synth_cameras(const ngp_synth_options *opts, bool test_split, float *c2w, ngp_error *err);

/* Traces one ray from `origin` along `dir` (NeRF units, dir need not be normalised) and returns
 * the distance to the first surface along the normalised direction, or -1 if it hits nothing.
 * rgb (may be NULL) receives the shaded colour there, linear (not sRGB), before antialiasing:
 * exact ground truth for depth and colour. */
float ngp_synth_trace(const float origin[3], const float dir[3], float rgb[3]);

/* Distance from p (NeRF units) to the nearest surface of the scene's solids: exact ground truth
 * for meshes (the distance to the union's surface, up to where solids touch). */
float ngp_synth_distance(const float p[3]);

#ifdef __cplusplus
}
#endif
#endif
