/* colmap.h (internal): COLMAP sparse models to instant-ngp's transforms.json.
 *
 *   ngp_colmap_model m;
 *   if (ngp_colmap_read("sparse/0", &m, &err) != NGP_OK) ...   (text or binary, found by name)
 *   ngp_colmap_options o; ngp_colmap_options_default(&o); o.images_dir = "images";
 *   ngp_colmap_result r;
 *   if (ngp_colmap_convert(&m, &o, &r, &err) != NGP_OK) ...     (poses, intrinsics, sharpness)
 *   ngp_colmap_write_json(&r, "transforms.json", &err);
 *
 * Conventions (COLMAP's documentation of its model files; instant-ngp's scripts/colmap2nerf.py):
 * COLMAP stores world-to-camera poses, a unit quaternion (qw, qx, qy, qz) and a translation, for a
 * camera looking down +z with +y down the image. NeRF's transforms.json holds camera-to-world
 * matrices for a camera looking down -z with +y up. colmap2nerf also turns the world: x and y
 * swapped, z negated; then, unless the COLMAP frame is kept, the mean camera up is rotated to +z,
 * the point the optical axes pass closest to becomes the origin, and the mean camera distance 4. */
#ifndef NGP_COLMAP_H
#define NGP_COLMAP_H

#include "ngp/common.h"

/* COLMAP's camera model ids (its binary files store these numbers). */
typedef enum ngp_colmap_camera_model {
  NGP_COLMAP_SIMPLE_PINHOLE = 0, /* f, cx, cy */
  NGP_COLMAP_PINHOLE = 1,        /* fx, fy, cx, cy */
  NGP_COLMAP_SIMPLE_RADIAL = 2,  /* f, cx, cy, k */
  NGP_COLMAP_RADIAL = 3,         /* f, cx, cy, k1, k2 */
  NGP_COLMAP_OPENCV = 4,         /* fx, fy, cx, cy, k1, k2, p1, p2 */
  NGP_COLMAP_OPENCV_FISHEYE = 5, /* fx, fy, cx, cy, k1, k2, k3, k4 */
  NGP_COLMAP_FULL_OPENCV = 6,
  NGP_COLMAP_FOV = 7,
  NGP_COLMAP_SIMPLE_RADIAL_FISHEYE = 8, /* f, cx, cy, k */
  NGP_COLMAP_RADIAL_FISHEYE = 9,        /* f, cx, cy, k1, k2 */
  NGP_COLMAP_THIN_PRISM_FISHEYE = 10,
  NGP_COLMAP_N_MODELS = 11,
} ngp_colmap_camera_model;

#define NGP_COLMAP_MAX_PARAMS 12

typedef struct ngp_colmap_camera {
  uint32_t id;
  int model; /* ngp_colmap_camera_model */
  int width, height;
  int n_params;
  double params[NGP_COLMAP_MAX_PARAMS];
} ngp_colmap_camera;

typedef struct ngp_colmap_image {
  uint32_t id;
  double q[4]; /* world-to-camera rotation, qw qx qy qz */
  double t[3]; /* world-to-camera translation */
  uint32_t camera_id;
  char *name; /* relative to the image folder */
} ngp_colmap_image;

typedef struct ngp_colmap_model {
  ngp_colmap_camera *cameras;
  int n_cameras;
  ngp_colmap_image *images;
  int n_images;
  bool binary; /* read from cameras.bin/images.bin (else the .txt files) */
  char cameras_path[512], images_path[512];
} ngp_colmap_model;

/* The model's name ("OPENCV"), or NULL for an id COLMAP does not define. */
const char *ngp_colmap_model_name(int model);
/* The id of a model name, -1 if unknown. Parameters per model: ngp_colmap_model_params. */
int ngp_colmap_model_from_name(const char *name);
int ngp_colmap_model_params(int model);
/* Whether transforms.json can express the model (the six of the list plus COLMAP's two
 * radial fisheye models, which are OpenCV's fisheye model with k3 = k4 = 0, resp. k2 too). */
bool ngp_colmap_model_supported(int model);

/* Reads dir/cameras.bin + images.bin when both exist (as COLMAP does), else dir/cameras.txt +
 * images.txt. Every value is checked: finite, sizes positive, ids unique, each image's camera
 * present, the parameter count right for the model. Messages name the file and the entry. */
ngp_status ngp_colmap_read(const char *dir, ngp_colmap_model *m, ngp_error *err);
/* The two readers on their own (tests; the paths are the files). */
ngp_status ngp_colmap_read_text(const char *cameras_txt, const char *images_txt, ngp_colmap_model *m, ngp_error *err);
ngp_status ngp_colmap_read_binary(const char *cameras_bin, const char *images_bin, ngp_colmap_model *m, ngp_error *err);
void ngp_colmap_model_free(ngp_colmap_model *m);

/* The pose maths, each on its own for the tests. Matrices are 3x4 row-major [R | t]. */
/* Unit quaternion (w, x, y, z) to a rotation matrix (row-major 3x3); q need not be normalised. */
void ngp_colmap_qvec_to_rotmat(const double q[4], double r[9]);
/* COLMAP's world-to-camera (q, t) to a NeRF camera-to-world matrix. keep_coords: only the camera
 * axes are flipped (y, z), as --keep_colmap_coords does; else the world is also turned
 * (x <-> y, z negated) as colmap2nerf does before its normalisation. */
void ngp_colmap_pose_to_nerf(const double q[4], const double t[3], bool keep_coords, double c2w[12]);
/* The inverse of ngp_colmap_pose_to_nerf: a NeRF c2w back to COLMAP's (q with qw >= 0, t). */
void ngp_colmap_nerf_to_pose(const double c2w[12], bool keep_coords, double q[4], double t[3]);
/* The rotation taking direction a to direction b (both non-zero), row-major 3x3. */
void ngp_colmap_rotation_between(const double a[3], const double b[3], double r[9]);
/* colmap2nerf's normalisation of n camera-to-world matrices in place: up (the mean of the cameras'
 * +y axes) to +z, the weighted point of closest approach of the optical axes to the origin, mean
 * distance to 4. The similarity applied, x' = scale * (R x - centre), goes to *out_* (may be NULL). */
void ngp_colmap_normalise(double *c2w, int n, double out_rot[9], double out_centre[3], double *out_scale);

/* Variance of the Laplacian (3x3 kernel 0 1 0 / 1 -4 1 / 0 1 0, borders mirrored without the
 * edge pixel) of the image's luma (OpenCV's BGR2GRAY weights, rounded to 8 bits): colmap2nerf's
 * "sharpness". rgba: w*h*4 bytes. */
double ngp_colmap_sharpness(const uint8_t *rgba, int w, int h);

typedef struct ngp_colmap_options {
  const char *images_dir; /* the folder the model's image names are relative to */
  const char *out_path;   /* the transforms.json to write: file paths are made relative to its folder */
  bool keep_coords;       /* --keep_colmap_coords */
  int aabb_scale;         /* power of two, 1..128 */
  int skip_early;         /* leave out the first N images (in name order) */
  double skip_blurry;     /* leave out this fraction of the frames, the least sharp first (0..1) */
  bool skip_missing;      /* frames whose image is gone: left out with one warning (else an error) */
  bool compute_sharpness; /* read each image for its sharpness (needed by skip_blurry) */
  int n_threads;          /* image decoding threads; <= 0: all cores */
} ngp_colmap_options;

void ngp_colmap_options_default(ngp_colmap_options *o);

typedef struct ngp_colmap_frame {
  char *file_path;  /* relative to the output's folder */
  int camera;       /* index into the model's cameras */
  double sharpness; /* -1 when not computed */
  double c2w[12];
} ngp_colmap_frame;

typedef struct ngp_colmap_result {
  const ngp_colmap_model *model;
  ngp_colmap_frame *frames;
  int n_frames;
  int n_missing, n_blurry, n_early; /* frames left out, by reason */
  bool per_frame_intrinsics;        /* the frames use several cameras */
  int aabb_scale;
  bool keep_coords;
  double norm_rot[9], norm_centre[3], norm_scale; /* the normalisation applied (identity when kept) */
} ngp_colmap_result;

/* Builds the frames of transforms.json from a model (which must outlive the result). */
ngp_status ngp_colmap_convert(const ngp_colmap_model *m, const ngp_colmap_options *o, ngp_colmap_result *r,
                              ngp_error *err);
/* Writes the result as transforms.json (temporary file, then rename). */
ngp_status ngp_colmap_write_json(const ngp_colmap_result *r, const char *path, ngp_error *err);
void ngp_colmap_result_free(ngp_colmap_result *r);

/* A path relative to a folder, both existing or not (made absolute against the current folder and
 * cleaned of "." and ".." textually, after resolving the longest existing prefix's symlinks). */
char *ngp_colmap_relative_path(const char *path, const char *from_dir);

#endif
