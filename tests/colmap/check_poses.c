/* check_poses.c: compares the camera poses of a transforms.json recovered by COLMAP (through
 * ngp-colmap2nerf) with the ground truth ngp-synth wrote, after the similarity (scale, rotation,
 * translation) that best maps the recovered camera centres onto the true ones (Horn's closed form
 * with quaternions; least squares). A recovered model is known only up to such a similarity.
 *
 *   check_poses GT.json REC.json MAX_ROT_DEG MAX_POS_FRACTION MIN_REGISTERED_FRACTION
 *               [ALIGNED.json [K TRUE_TRAIN.json HELD.json]]
 *
 * Frames are matched by the base name of file_path without its extension. Positions are judged
 * against the scene size: the largest distance between two true camera centres (what COLMAP
 * reconstructs spans the cameras; colmap2nerf's normalisation scales that span too). The error
 * relative to the solids' diameter (2 * NGP_SYNTH_RADIUS) is printed as well. Prints the
 * figures; exit 0 when every bound holds, 1 otherwise. ALIGNED.json (in GT's folder): REC's frames
 * in GT's frame (the similarity applied) with GT's image paths, box and image size, REC's
 * intrinsics scaled to it, for a training on recovered poses whose renders compare with true
 * views. With K: every K-th true frame (from K / 2) is held out: ALIGNED.json and TRUE_TRAIN.json
 * (GT's poses) lack it, HELD.json holds those true frames, to judge both trainings on. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/json_util.h"
#include "ngp/synth.h"

typedef struct {
  char key[256];
  double m[12];
  const cJSON *json;
} frame;

static void base_key(const char *path, char *key, size_t n) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(key, n, "%s", b);
  char *dot = strrchr(key, '.');
  if (dot) *dot = '\0';
}

static int load(const char *path, cJSON **root, frame **out, int *n) {
  ngp_error err;
  if (ngp_json_load_file(path, root, &err) != NGP_OK) {
    fprintf(stderr, "check_poses: %s\n", err.msg);
    return 1;
  }
  const cJSON *frames = cJSON_GetObjectItem(*root, "frames");
  *n = cJSON_GetArraySize(frames);
  *out = calloc((size_t)(*n ? *n : 1), sizeof **out);
  int i = 0;
  const cJSON *f;
  cJSON_ArrayForEach(f, frames) {
    const cJSON *fp = cJSON_GetObjectItem(f, "file_path"), *tm = cJSON_GetObjectItem(f, "transform_matrix");
    if (!cJSON_IsString(fp) || cJSON_GetArraySize(tm) < 3) {
      fprintf(stderr, "check_poses: %s: frames[%d]: no file_path or transform_matrix\n", path, i);
      return 1;
    }
    base_key(fp->valuestring, (*out)[i].key, sizeof(*out)[i].key);
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 4; c++)
        (*out)[i].m[r * 4 + c] = cJSON_GetArrayItem(cJSON_GetArrayItem(tm, r), c)->valuedouble;
    (*out)[i].json = f;
    i++;
  }
  return 0;
}

/* Eigenvector of the largest eigenvalue of a symmetric 4x4 matrix (cyclic Jacobi). */
static void top_eigenvector(double a[4][4], double v_out[4]) {
  double v[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0;
    for (int p = 0; p < 4; p++)
      for (int q = p + 1; q < 4; q++)
        off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (int p = 0; p < 4; p++)
      for (int q = p + 1; q < 4; q++) {
        if (fabs(a[p][q]) < 1e-300) continue;
        double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
        double c = 1 / sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < 4; k++) { /* A <- A J */
          double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (int k = 0; k < 4; k++) { /* A <- J^T A */
          double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 4; k++) {
          double vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
  }
  int best = 0;
  for (int k = 1; k < 4; k++)
    if (a[k][k] > a[best][best]) best = k;
  for (int k = 0; k < 4; k++)
    v_out[k] = v[k][best];
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: check_poses GT.json REC.json MAX_ROT_DEG MAX_POS_FRACTION MIN_REGISTERED "
                    "[ALIGNED.json [K TRUE_TRAIN.json HELD.json]]\n");
    return 2;
  }
  double max_rot = atof(argv[3]), max_pos = atof(argv[4]), min_reg = atof(argv[5]);
  cJSON *gt_root = NULL, *rec_root = NULL;
  frame *gt, *rec;
  int n_gt, n_rec;
  if (load(argv[1], &gt_root, &gt, &n_gt) || load(argv[2], &rec_root, &rec, &n_rec)) return 1;
  /* pairs (rec index -> gt index) */
  int *pair = malloc((size_t)(n_rec ? n_rec : 1) * sizeof *pair), n = 0;
  for (int i = 0; i < n_rec; i++) {
    pair[i] = -1;
    for (int j = 0; j < n_gt && pair[i] < 0; j++)
      if (!strcmp(rec[i].key, gt[j].key)) pair[i] = j;
    if (pair[i] < 0) {
      fprintf(stderr, "check_poses: %s: frame %s is not in %s\n", argv[2], rec[i].key, argv[1]);
      return 1;
    }
    n++;
  }
  printf("check_poses: %d of %d views registered (%.0f%%)\n", n, n_gt, 100.0 * n / n_gt);
  if (n < 3) return 1;
  /* Horn: centroids, cross-covariance M = sum a' b'^T, the 4x4 N, its top eigenvector. */
  double ca[3] = {0}, cb[3] = {0};
  for (int i = 0; i < n_rec; i++)
    for (int k = 0; k < 3; k++) {
      ca[k] += rec[i].m[k * 4 + 3] / n;
      cb[k] += gt[pair[i]].m[k * 4 + 3] / n;
    }
  double S[3][3] = {{0}}, saa = 0;
  for (int i = 0; i < n_rec; i++) {
    double a[3], b[3];
    for (int k = 0; k < 3; k++) {
      a[k] = rec[i].m[k * 4 + 3] - ca[k];
      b[k] = gt[pair[i]].m[k * 4 + 3] - cb[k];
    }
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 3; c++)
        S[r][c] += a[r] * b[c];
    saa += a[0] * a[0] + a[1] * a[1] + a[2] * a[2];
  }
  double N[4][4] = {
      {S[0][0] + S[1][1] + S[2][2], S[1][2] - S[2][1], S[2][0] - S[0][2], S[0][1] - S[1][0]},
      {S[1][2] - S[2][1], S[0][0] - S[1][1] - S[2][2], S[0][1] + S[1][0], S[2][0] + S[0][2]},
      {S[2][0] - S[0][2], S[0][1] + S[1][0], -S[0][0] + S[1][1] - S[2][2], S[1][2] + S[2][1]},
      {S[0][1] - S[1][0], S[2][0] + S[0][2], S[1][2] + S[2][1], -S[0][0] - S[1][1] + S[2][2]},
  };
  double q[4];
  top_eigenvector(N, q);
  double w = q[0], x = q[1], y = q[2], z = q[3];
  double R[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - w * z),     2 * (x * z + w * y),
                 2 * (x * y + w * z),     1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                 2 * (x * z - w * y),     2 * (y * z + w * x),     1 - 2 * (x * x + y * y)};
  double sab = 0; /* scale: sum b' . R a' / sum |a'|^2 */
  for (int i = 0; i < n_rec; i++) {
    double a[3], b[3];
    for (int k = 0; k < 3; k++) {
      a[k] = rec[i].m[k * 4 + 3] - ca[k];
      b[k] = gt[pair[i]].m[k * 4 + 3] - cb[k];
    }
    for (int r = 0; r < 3; r++)
      sab += b[r] * (R[r * 3] * a[0] + R[r * 3 + 1] * a[1] + R[r * 3 + 2] * a[2]);
  }
  double s = sab / saa, t[3];
  for (int r = 0; r < 3; r++)
    t[r] = cb[r] - s * (R[r * 3] * ca[0] + R[r * 3 + 1] * ca[1] + R[r * 3 + 2] * ca[2]);

  double scene = 0;
  for (int i = 0; i < n_gt; i++)
    for (int j = i + 1; j < n_gt; j++) {
      const double *a = gt[i].m, *b = gt[j].m;
      double d2 = (a[3] - b[3]) * (a[3] - b[3]) + (a[7] - b[7]) * (a[7] - b[7]) + (a[11] - b[11]) * (a[11] - b[11]);
      scene = fmax(scene, sqrt(d2));
    }
  const double solids = 2.0 * (double)NGP_SYNTH_RADIUS;
  double rot_max = 0, rot_sum = 0, pos_max = 0, pos_sum = 0;
  for (int i = 0; i < n_rec; i++) {
    const double *m = rec[i].m, *g = gt[pair[i]].m;
    double rm[9], p[3];
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 3; c++)
        rm[r * 3 + c] = R[r * 3] * m[c] + R[r * 3 + 1] * m[4 + c] + R[r * 3 + 2] * m[8 + c];
      p[r] = s * (R[r * 3] * m[3] + R[r * 3 + 1] * m[7] + R[r * 3 + 2] * m[11]) + t[r];
    }
    /* angle of G^T (R M): trace = sum over entries of G .* RM */
    double tr = 0;
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 3; c++)
        tr += g[r * 4 + c] * rm[r * 3 + c];
    double ang = acos(fmax(-1.0, fmin(1.0, (tr - 1) / 2))) * 180 / 3.14159265358979323846;
    double d = sqrt((p[0] - g[3]) * (p[0] - g[3]) + (p[1] - g[7]) * (p[1] - g[7]) + (p[2] - g[11]) * (p[2] - g[11]));
    if (getenv("CHECK_POSES_VERBOSE")) printf("  %s: %.4f deg, %.5f units\n", rec[i].key, ang, d);
    rot_max = fmax(rot_max, ang);
    rot_sum += ang;
    pos_max = fmax(pos_max, d);
    pos_sum += d;
    /* the aligned frame back into the recovered json (for a training on recovered poses) */
    cJSON *tm = cJSON_GetObjectItem((cJSON *)rec[i].json, "transform_matrix");
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 3; c++)
        cJSON_SetNumberValue(cJSON_GetArrayItem(cJSON_GetArrayItem(tm, r), c), rm[r * 3 + c]);
      cJSON_SetNumberValue(cJSON_GetArrayItem(cJSON_GetArrayItem(tm, r), 3), p[r]);
    }
  }
  double focal_gt = 0;
  /* at REC's image width: GT may be a render of the same cameras at another size */
  const cJSON *cax = cJSON_GetObjectItem(gt_root, "camera_angle_x"), *wj = cJSON_GetObjectItem(rec_root, "w");
  const cJSON *flx = cJSON_GetObjectItem(rec_root, "fl_x");
  if (cJSON_IsNumber(cax) && cJSON_IsNumber(wj)) focal_gt = 0.5 * wj->valuedouble / tan(0.5 * cax->valuedouble);
  printf("check_poses: similarity scale %.5g\n", s);
  printf("check_poses: rotation error mean %.4f, max %.4f degrees (bound %g)\n", rot_sum / n, rot_max, max_rot);
  printf("check_poses: position error mean %.5f, max %.5f units = %.3f%% of the scene size %.2f (bound %g%%); "
         "%.3f%% of the solids' diameter %.2f\n",
         pos_sum / n, pos_max, 100 * pos_max / scene, scene, 100 * max_pos, 100 * pos_max / solids, solids);
  if (focal_gt > 0 && cJSON_IsNumber(flx))
    printf("check_poses: focal length %.2f px recovered, %.2f px true (%.2f%%)\n", flx->valuedouble, focal_gt,
           100 * (flx->valuedouble - focal_gt) / focal_gt);
  int fail = 0;
  if ((double)n < min_reg * n_gt) {
    printf("check_poses: FAIL: fewer than %.0f%% of the views registered\n", 100 * min_reg);
    fail = 1;
  }
  if (!(rot_max < max_rot)) {
    printf("check_poses: FAIL: rotation error above %g degrees\n", max_rot);
    fail = 1;
  }
  if (!(pos_max < max_pos * scene)) {
    printf("check_poses: FAIL: position error above %g%% of the scene size\n", 100 * max_pos);
    fail = 1;
  }
  if (argc > 6 && !fail) {
    /* The recovered json in GT's frame, box and images: each frame takes the file_path of its true
     * frame (so ALIGNED.json belongs in GT's folder, and GT may name other renders of the same
     * cameras), and the recovered intrinsics are scaled to GT's image size. Training on it and on
     * GT is then the same training but for the poses and intrinsics. */
    const cJSON *gw = cJSON_GetObjectItem(gt_root, "w"), *gh = cJSON_GetObjectItem(gt_root, "h");
    const cJSON *rw = cJSON_GetObjectItem(rec_root, "w");
    double k = cJSON_IsNumber(gw) && cJSON_IsNumber(rw) && rw->valuedouble > 0 ? gw->valuedouble / rw->valuedouble : 1;
    static const char *const scaled[] = {"fl_x", "fl_y", "cx", "cy"};
    for (size_t j = 0; j < sizeof scaled / sizeof scaled[0]; j++) {
      cJSON *v = cJSON_GetObjectItem(rec_root, scaled[j]);
      if (cJSON_IsNumber(v)) cJSON_SetNumberValue(v, v->valuedouble * k);
    }
    if (cJSON_IsNumber(gw)) cJSON_ReplaceItemInObject(rec_root, "w", cJSON_CreateNumber(gw->valuedouble));
    if (cJSON_IsNumber(gh)) cJSON_ReplaceItemInObject(rec_root, "h", cJSON_CreateNumber(gh->valuedouble));
    const cJSON *gaabb = cJSON_GetObjectItem(gt_root, "aabb_scale");
    cJSON_ReplaceItemInObject(rec_root, "aabb_scale",
                              cJSON_CreateNumber(cJSON_IsNumber(gaabb) ? gaabb->valuedouble : 1));
    for (int i = 0; i < n_rec; i++) {
      const cJSON *gfp = cJSON_GetObjectItem(gt[pair[i]].json, "file_path");
      cJSON_ReplaceItemInObject((cJSON *)rec[i].json, "file_path", cJSON_CreateString(gfp->valuestring));
    }
    /* Held-out views: every K-th true frame (from index K / 2) leaves both trainings. */
    int hold_k = argc > 9 ? atoi(argv[7]) : 0;
    cJSON *gt_train = NULL, *gt_held = NULL;
    if (hold_k > 1) {
      gt_train = cJSON_Duplicate(gt_root, 1);
      gt_held = cJSON_Duplicate(gt_root, 1);
      cJSON *tf = cJSON_GetObjectItem(gt_train, "frames"), *hf = cJSON_GetObjectItem(gt_held, "frames");
      for (int j = n_gt - 1; j >= 0; j--)
        cJSON_DeleteItemFromArray(j % hold_k == hold_k / 2 ? tf : hf, j);
      cJSON *rf = cJSON_GetObjectItem(rec_root, "frames");
      for (int i = n_rec - 1; i >= 0; i--)
        if (pair[i] % hold_k == hold_k / 2) cJSON_DeleteItemFromArray(rf, i);
    }
    const char *paths[3] = {argv[6], hold_k > 1 ? argv[8] : NULL, hold_k > 1 ? argv[9] : NULL};
    cJSON *roots[3] = {rec_root, gt_train, gt_held};
    for (int j = 0; j < 3 && !fail; j++) {
      if (!paths[j]) continue;
      char *text = cJSON_Print(roots[j]);
      ngp_error err;
      if (!text || ngp_write_file_atomic(paths[j], text, strlen(text), &err) != NGP_OK) {
        fprintf(stderr, "check_poses: %s: cannot write it\n", paths[j]);
        fail = 1;
      }
      cJSON_free(text);
    }
    if (hold_k > 1)
      printf("check_poses: %d true views held out of both trainings (every %d-th)\n",
             cJSON_GetArraySize(cJSON_GetObjectItem(gt_held, "frames")), hold_k);
    cJSON_Delete(gt_train);
    cJSON_Delete(gt_held);
  }
  cJSON_Delete(gt_root);
  cJSON_Delete(rec_root);
  free(gt);
  free(rec);
  free(pair);
  return fail;
}
