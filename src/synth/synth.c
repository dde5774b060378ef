/* synth.c: the synthetic NeRF scene of ngp/synth.h, rendered by exact analytic ray tracing.
 *
 * The scene (NeRF world units, +z up as in NeRF-synthetic) is a little still life on a round
 * plate: a textured globe at the centre (the origin lies inside it, so every camera's centre ray
 * hits it), a rotated box with a small sphere on top, a cylinder, a cone and a small cube. Each has a
 * diffuse albedo with procedural checkers and stripes at several frequencies (periods from about
 * 0.2 down to 0.03 units, i.e. from ~14 px down to ~2 px at 200x200, ~8 px at 800x800), so a NeRF has
 * detail to resolve. Shading is Lambertian under one directional light with shadows, plus a small
 * ambient term: radiance is view-independent, so a NeRF can reproduce it exactly. Everything else
 * is transparent (alpha 0, rgb 0), like NeRF-synthetic's lego. The textured variant (opts->textured,
 * for feature matchers such as COLMAP's SIFT) replaces the albedos by colour noise (checkers and
 * stripes repeat, and repeated patterns give wrong matches) and adds an opaque, unlit,
 * noise-coloured backdrop sphere; the plain scene's bytes do not change with it off.
 *
 * Rays are intersected exactly with each solid (quadratics and slabs, no marching). Colours are
 * computed in linear space, averaged over `spp` stratified samples per pixel (alpha = covered
 * fraction), then sRGB-encoded, as instant-ngp decodes them. No randomness is used in rendering;
 * camera placement uses a splitmix64 generator seeded by opts->seed. */
#define _POSIX_C_SOURCE 200809L
#include "ngp/synth.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "core/fs.h"
#include "common/ngp_math.h"
#include "core/parallel.h"

#define PI_F 3.14159265358979f
#define TWO_PI_F 6.28318530717959f
#define SPP_MAX 64
#define SIZE_MAX_PX 16384
#define VIEWS_MAX 100000

void ngp_synth_options_default(ngp_synth_options *opts) {
  opts->width = 200;
  opts->height = 200;
  opts->n_train = 100;
  opts->n_test = 20;
  opts->seed = 0;
  opts->camera_angle_x = 0.6911112070083618f; /* NeRF-synthetic lego's */
  opts->camera_distance = 4.0f;
  opts->spp = 4;
  opts->n_threads = 0;
  opts->textured = false;
  opts->backdrop_radius = NGP_SYNTH_BACKDROP_RADIUS;
}

/* ---- Small vector helpers ---------------------------------------------------------------------- */

static inline float dot3(const float *a, const float *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

static inline void normalize3(float *v) {
  float l = sqrtf(dot3(v, v));
  if (l > 0.0f) {
    v[0] /= l;
    v[1] /= l;
    v[2] /= l;
  }
}

static inline void cross3(const float *a, const float *b, float *out) {
  out[0] = a[1] * b[2] - a[2] * b[1];
  out[1] = a[2] * b[0] - a[0] * b[2];
  out[2] = a[0] * b[1] - a[1] * b[0];
}

/* ---- The scene --------------------------------------------------------------------------------- */

typedef enum { SHAPE_SPHERE, SHAPE_BOX, SHAPE_CYLINDER, SHAPE_CONE } shape_kind;
typedef enum { MAT_PLATE, MAT_GLOBE, MAT_BOX, MAT_BALL, MAT_CYLINDER, MAT_CONE, MAT_CUBE } material_id;

/* Each solid lives in its own frame: translated to `c` and rotated by `rot` about +z. Dimensions:
 * sphere radius a; box half-extents a, b, h; cylinder radius a, half-height h (centred on c);
 * cone base radius a, height h (base centred on c, apex at c + h z). */
typedef struct {
  shape_kind kind;
  material_id mat;
  float c[3];
  float rot;
  float a, b, h;
} synth_object;

/* Layout: the plate's top is at z = -0.35 and everything stands on it, up to z = 0.45 (globe and
 * cone tops), so the still life is roughly centred on the origin, where the cameras look. The
 * farthest points (the plate's lower rim) are 1.05 from the origin, inside NGP_SYNTH_RADIUS (1.2).
 * The globe contains the origin and touches the plate; no other solids overlap. */
static const synth_object k_objects[] = {
    {SHAPE_CYLINDER, MAT_PLATE, {0.0f, 0.0f, -0.40f}, 0.0f, 0.95f, 0.0f, 0.05f},
    {SHAPE_SPHERE, MAT_GLOBE, {0.0f, 0.0f, 0.05f}, 0.3f, 0.40f, 0.0f, 0.0f},
    {SHAPE_BOX, MAT_BOX, {0.58f, 0.32f, -0.15f}, 0.6f, 0.22f, 0.16f, 0.20f},
    {SHAPE_SPHERE, MAT_BALL, {0.58f, 0.32f, 0.17f}, 0.0f, 0.12f, 0.0f, 0.0f},
    {SHAPE_CYLINDER, MAT_CYLINDER, {-0.55f, 0.42f, -0.03f}, 0.0f, 0.16f, 0.0f, 0.32f},
    {SHAPE_CONE, MAT_CONE, {-0.25f, -0.62f, -0.35f}, 0.0f, 0.20f, 0.0f, 0.75f},
    {SHAPE_BOX, MAT_CUBE, {0.35f, -0.60f, -0.23f}, 0.3f, 0.12f, 0.12f, 0.12f},
};
#define N_OBJECTS ((int)(sizeof k_objects / sizeof k_objects[0]))

/* Direction towards the light (normalised at use), and the ambient/diffuse split. */
static const float k_light[3] = {0.45f, -0.35f, 0.82f};
#define AMBIENT 0.22f
#define DIFFUSE 0.78f

typedef struct {
  float t;    /* distance along the (unit) ray */
  int obj;    /* index into k_objects, -1 if none */
  int part;   /* box: axis of the face hit; cylinder/cone: 0 side, 1 cap; sphere: 0 */
  float p[3]; /* hit point in the object's frame */
  float n[3]; /* normal in the object's frame (unit) */
} synth_hit;

/* Ray into the object's frame: subtract the centre, rotate by -rot about z. */
static void to_local(const synth_object *ob, const float *o, const float *d, float *lo, float *ld) {
  float cr = cosf(ob->rot), sr = sinf(ob->rot);
  float x = o[0] - ob->c[0], y = o[1] - ob->c[1];
  lo[0] = cr * x + sr * y;
  lo[1] = -sr * x + cr * y;
  lo[2] = o[2] - ob->c[2];
  ld[0] = cr * d[0] + sr * d[1];
  ld[1] = -sr * d[0] + cr * d[1];
  ld[2] = d[2];
}

/* Records a candidate hit if it is in (tmin, best->t). */
static inline void consider(synth_hit *best, float t, float tmin, int obj, int part, const float *lo, const float *ld,
                            float nx, float ny, float nz) {
  if (!(t > tmin && t < best->t)) return;
  best->t = t;
  best->obj = obj;
  best->part = part;
  for (int k = 0; k < 3; k++)
    best->p[k] = lo[k] + t * ld[k];
  best->n[0] = nx;
  best->n[1] = ny;
  best->n[2] = nz;
}

static void hit_sphere(const synth_object *ob, int idx, const float *o, const float *d, float tmin, synth_hit *best) {
  /* Closest approach q = o - (o.d) d, then half-chord sqrt(r^2 - |q|^2): better conditioned than
   * b^2 - c when the ray starts far away. */
  float b = dot3(o, d);
  float q[3] = {o[0] - b * d[0], o[1] - b * d[1], o[2] - b * d[2]};
  float disc = ob->a * ob->a - dot3(q, q);
  if (disc < 0.0f) return;
  float s = sqrtf(disc);
  for (int k = 0; k < 2; k++) {
    float t = k == 0 ? -b - s : -b + s;
    if (t > tmin && t < best->t) {
      float p[3] = {o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]};
      consider(best, t, tmin, idx, 0, o, d, p[0] / ob->a, p[1] / ob->a, p[2] / ob->a);
      return;
    }
  }
}

static void hit_box(const synth_object *ob, int idx, const float *o, const float *d, float tmin, synth_hit *best) {
  const float half[3] = {ob->a, ob->b, ob->h};
  float t0 = -INFINITY, t1 = INFINITY;
  int axis0 = 0, axis1 = 0;
  for (int k = 0; k < 3; k++) {
    if (fabsf(d[k]) < 1e-12f) {
      if (fabsf(o[k]) > half[k]) return; /* parallel to this slab and outside it */
      continue;
    }
    float inv = 1.0f / d[k];
    float ta = (-half[k] - o[k]) * inv, tb = (half[k] - o[k]) * inv;
    if (ta > tb) {
      float tmp = ta;
      ta = tb;
      tb = tmp;
    }
    if (ta > t0) {
      t0 = ta;
      axis0 = k;
    }
    if (tb < t1) {
      t1 = tb;
      axis1 = k;
    }
  }
  if (t0 > t1) return;
  float t = t0 > tmin ? t0 : t1;
  int axis = t0 > tmin ? axis0 : axis1;
  float n[3] = {0.0f, 0.0f, 0.0f};
  /* Entering: the normal faces the ray; leaving (from inside): it faces along it. */
  n[axis] = (d[axis] > 0.0f) == (t0 > tmin) ? -1.0f : 1.0f;
  consider(best, t, tmin, idx, axis, o, d, n[0], n[1], n[2]);
}

static void hit_cylinder(const synth_object *ob, int idx, const float *o, const float *d, float tmin, synth_hit *best) {
  float r = ob->a, h = ob->h;
  float A = d[0] * d[0] + d[1] * d[1];
  if (A > 1e-12f) {
    float tc = -(o[0] * d[0] + o[1] * d[1]) / A; /* closest approach to the axis, in 2D */
    float qx = o[0] + tc * d[0], qy = o[1] + tc * d[1];
    float disc = r * r - (qx * qx + qy * qy);
    if (disc >= 0.0f) {
      float s = sqrtf(disc / A);
      for (int k = 0; k < 2; k++) {
        float t = k == 0 ? tc - s : tc + s;
        float z = o[2] + t * d[2];
        if (z >= -h && z <= h && t > tmin && t < best->t) {
          float x = o[0] + t * d[0], y = o[1] + t * d[1];
          consider(best, t, tmin, idx, 0, o, d, x / r, y / r, 0.0f);
          break;
        }
      }
    }
  }
  if (fabsf(d[2]) > 1e-12f) {
    for (int k = 0; k < 2; k++) {
      float zc = k == 0 ? -h : h;
      float t = (zc - o[2]) / d[2];
      float x = o[0] + t * d[0], y = o[1] + t * d[1];
      if (x * x + y * y <= r * r) consider(best, t, tmin, idx, 1, o, d, 0.0f, 0.0f, k == 0 ? -1.0f : 1.0f);
    }
  }
}

static void hit_cone(const synth_object *ob, int idx, const float *o, const float *d, float tmin, synth_hit *best) {
  /* Side: x^2 + y^2 = (k w)^2 with w = h - z (distance below the apex), k = a / h, 0 <= z <= h.
   * With w = w0 - t dz this is A t^2 + 2 B t + C = 0. */
  float a = ob->a, h = ob->h, k = a / h, k2 = k * k;
  float w0 = h - o[2];
  float A = d[0] * d[0] + d[1] * d[1] - k2 * d[2] * d[2];
  float B = o[0] * d[0] + o[1] * d[1] + k2 * w0 * d[2];
  float C = o[0] * o[0] + o[1] * o[1] - k2 * w0 * w0;
  float roots[2];
  int n_roots = 0;
  if (fabsf(A) > 1e-9f) {
    float disc = B * B - A * C;
    if (disc >= 0.0f) {
      float s = sqrtf(disc);
      float r0 = (-B - s) / A, r1 = (-B + s) / A;
      roots[0] = r0 < r1 ? r0 : r1;
      roots[1] = r0 < r1 ? r1 : r0;
      n_roots = 2;
    }
  } else if (fabsf(B) > 1e-12f) { /* ray parallel to a generator line: one root */
    roots[0] = -C / (2.0f * B);
    n_roots = 1;
  }
  for (int i = 0; i < n_roots; i++) {
    float t = roots[i];
    float z = o[2] + t * d[2];
    if (z >= 0.0f && z <= h && t > tmin && t < best->t) {
      float x = o[0] + t * d[0], y = o[1] + t * d[1];
      float n[3] = {x, y, k * sqrtf(x * x + y * y)};
      if (dot3(n, n) < 1e-12f) n[2] = 1.0f; /* the apex itself */
      normalize3(n);
      consider(best, t, tmin, idx, 0, o, d, n[0], n[1], n[2]);
      break;
    }
  }
  if (fabsf(d[2]) > 1e-12f) {
    float t = -o[2] / d[2];
    float x = o[0] + t * d[0], y = o[1] + t * d[1];
    if (x * x + y * y <= a * a) consider(best, t, tmin, idx, 1, o, d, 0.0f, 0.0f, -1.0f);
  }
}

/* Nearest hit of the unit ray (o, d) beyond tmin; best->obj is -1 on a miss. */
static void scene_intersect(const float *o, const float *d, float tmin, synth_hit *best) {
  best->t = INFINITY;
  best->obj = -1;
  for (int i = 0; i < N_OBJECTS; i++) {
    const synth_object *ob = &k_objects[i];
    float lo[3], ld[3];
    to_local(ob, o, d, lo, ld);
    switch (ob->kind) {
    case SHAPE_SPHERE: hit_sphere(ob, i, lo, ld, tmin, best); break;
    case SHAPE_BOX: hit_box(ob, i, lo, ld, tmin, best); break;
    case SHAPE_CYLINDER: hit_cylinder(ob, i, lo, ld, tmin, best); break;
    case SHAPE_CONE: hit_cone(ob, i, lo, ld, tmin, best); break;
    }
  }
}

/* ---- Textures ---------------------------------------------------------------------------------- */

static inline int checker(float u, float v) { return ((int)floorf(u) + (int)floorf(v)) & 1; }
/* 1 within width/2 of an integer (thin grid lines), else 0. */
static inline int line(float u, float width) { return fabsf(u - floorf(u + 0.5f)) < 0.5f * width; }
static inline void mix3(float *out, const float *a, const float *b, float t) {
  for (int k = 0; k < 3; k++)
    out[k] = a[k] + (b[k] - a[k]) * t;
}
static inline void scale3(float *v, float s) {
  v[0] *= s;
  v[1] *= s;
  v[2] *= s;
}

/* Albedo (linear) at a hit. Three scales each: a coarse checker (~0.1-0.2 units), medium stripes
 * or lines (~0.05), and a fine low-contrast pattern (~0.02-0.03) that only high resolutions show. */

/* Longitude and latitude of a point on a sphere of radius r at the origin, both in [0, 1]. */
static void sphere_uv(const float *p, float r, float *u, float *v) {
  *u = atan2f(p[1], p[0]) / TWO_PI_F + 0.5f;
  *v = asinf(fminf(1.0f, fmaxf(-1.0f, p[2] / r))) / PI_F + 0.5f;
}
static void albedo(const synth_hit *hit, float *out) {
  const float *p = hit->p;
  switch (k_objects[hit->obj].mat) {
  case MAT_PLATE: {
    static const float light[3] = {0.55f, 0.50f, 0.40f}, dark[3] = {0.18f, 0.16f, 0.13f};
    float r = sqrtf(p[0] * p[0] + p[1] * p[1]);
    float ang = atan2f(p[1], p[0]) / TWO_PI_F;
    if (hit->part == 1) { /* top and bottom: rings x sectors, thin radial rings, fine rings */
      mix3(out, light, dark, (float)checker(r * 8.0f, ang * 24.0f) * 0.8f);
      if (line(r * 20.0f, 0.12f)) scale3(out, 0.45f);
      scale3(out, 0.9f + 0.1f * sinf(TWO_PI_F * 45.0f * r));
    } else { /* rim: vertical stripes */
      mix3(out, light, dark, (float)checker(ang * 96.0f, 0.0f));
    }
    break;
  }
  case MAT_GLOBE: {
    static const float red[3] = {0.62f, 0.06f, 0.04f}, cream[3] = {0.80f, 0.68f, 0.45f};
    float u, v;
    sphere_uv(p, k_objects[hit->obj].a, &u, &v);
    mix3(out, red, cream, (float)checker(u * 16.0f, v * 8.0f));
    if (line(v * 24.0f, 0.1f)) scale3(out, 0.5f); /* parallels */
    scale3(out, 0.85f + 0.15f * sinf(TWO_PI_F * 80.0f * u));
    break;
  }
  case MAT_BOX: {
    static const float blue[3] = {0.06f, 0.18f, 0.65f}, white[3] = {0.85f, 0.85f, 0.80f};
    int ax = hit->part, a0 = (ax + 1) % 3, a1 = (ax + 2) % 3; /* the face's two in-plane axes */
    mix3(out, blue, white, (float)checker(p[a0] * 8.0f, p[a1] * 8.0f));
    if (line(p[a0] * 32.0f, 0.15f) || line(p[a1] * 32.0f, 0.15f)) scale3(out, 0.35f);
    break;
  }
  case MAT_BALL: {
    static const float gold[3] = {0.80f, 0.55f, 0.08f}, brown[3] = {0.12f, 0.05f, 0.02f};
    float u, v;
    sphere_uv(p, k_objects[hit->obj].a, &u, &v);
    mix3(out, gold, brown, (float)checker(u * 24.0f, v * 12.0f));
    break;
  }
  case MAT_CYLINDER: {
    static const float green[3] = {0.08f, 0.45f, 0.12f}, yellow[3] = {0.75f, 0.70f, 0.15f};
    if (hit->part == 0) {
      float u = atan2f(p[1], p[0]) / TWO_PI_F;
      mix3(out, green, yellow, (float)checker(u * 24.0f, p[2] * 12.0f));
      scale3(out, 0.85f + 0.15f * sinf(TWO_PI_F * 40.0f * p[2]));
    } else { /* caps: concentric rings */
      float r = sqrtf(p[0] * p[0] + p[1] * p[1]);
      mix3(out, green, yellow, (float)checker(r * 30.0f, 0.0f));
    }
    break;
  }
  case MAT_CONE: {
    static const float orange[3] = {0.85f, 0.30f, 0.03f}, purple[3] = {0.25f, 0.05f, 0.40f};
    float u = atan2f(p[1], p[0]) / TWO_PI_F;
    if (hit->part == 0) { /* spiral stripes plus fine rings */
      mix3(out, orange, purple, (float)checker(u * 6.0f + p[2] * 10.0f, 0.0f));
      if (line(p[2] * 48.0f, 0.2f)) scale3(out, 0.6f);
    } else {
      mix3(out, orange, purple, (float)checker(u * 12.0f, 0.0f));
    }
    break;
  }
  case MAT_CUBE: {
    static const float magenta[3] = {0.70f, 0.05f, 0.45f}, white[3] = {0.90f, 0.90f, 0.90f};
    int ax = hit->part, a0 = (ax + 1) % 3, a1 = (ax + 2) % 3;
    mix3(out, magenta, white, (float)checker(p[a0] * 24.0f, p[a1] * 24.0f));
    break;
  }
  }
}

/* ---- Noise (the textured scene) ----------------------------------------------------------------- */

/* A contrasty colour texture for feature matchers: per channel, fractal noise pushed through a steep
 * smoothstep (gain), so that it is made of blobs with sharp but antialiasable edges. Three octaves
 * from the base frequency: the finest detail stays several pixels wide at the sizes the COLMAP test
 * renders (its edges are what SIFT localises; sub-pixel speckle only adds unstable features). */
#define BACKDROP_FREQ 1.7f /* per unit on the backdrop sphere */
#define SOLID_FREQ 5.0f    /* per unit on the solids */
#define NOISE_OCTAVES 3
#define BACKDROP_GAIN 12.0f
#define SOLID_GAIN 8.0f

/* Value noise: a hash of the integer lattice point, trilinear with a smoothstep. Deterministic and
 * aperiodic at the scales used, so a feature matcher finds no repeated pattern to confuse. */
static float lattice(int x, int y, int z, uint32_t seed) {
  uint32_t h = seed ^ ((uint32_t)x * 0x8da6b343u) ^ ((uint32_t)y * 0xd8163841u) ^ ((uint32_t)z * 0xcb1ab31fu);
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 12;
  h *= 0x297a2d39u;
  h ^= h >> 15;
  return (float)(h >> 8) * 5.9604644775390625e-8f;
}

static float value_noise(float x, float y, float z, uint32_t seed) {
  float fx = floorf(x), fy = floorf(y), fz = floorf(z);
  int ix = (int)fx, iy = (int)fy, iz = (int)fz;
  float u = x - fx, v = y - fy, w = z - fz;
  u = u * u * (3.0f - 2.0f * u);
  v = v * v * (3.0f - 2.0f * v);
  w = w * w * (3.0f - 2.0f * w);
  float c[2][2];
  for (int j = 0; j < 2; j++)
    for (int k = 0; k < 2; k++) {
      float a = lattice(ix, iy + j, iz + k, seed), b = lattice(ix + 1, iy + j, iz + k, seed);
      c[j][k] = a + (b - a) * u;
    }
  float c0 = c[0][0] + (c[1][0] - c[0][0]) * v, c1 = c[0][1] + (c[1][1] - c[0][1]) * v;
  return c0 + (c1 - c0) * w;
}

/* `octaves` octaves from `freq` up, in [0, 1]. */
static float fractal_noise(const float *p, float freq, int octaves, uint32_t seed) {
  float sum = 0.0f, amp = 0.5f, norm = 0.0f;
  for (int o = 0; o < octaves; o++, freq *= 2.03f, amp *= 0.55f) {
    sum += amp * value_noise(p[0] * freq, p[1] * freq, p[2] * freq, seed + (uint32_t)o * 0x9e3779b9u);
    norm += amp;
  }
  return sum / norm;
}

/* The backdrop's colour (linear, unlit) where the unit ray (o, d) from inside the sphere meets it. */
static void backdrop_rgb(const float *o, const float *d, float r, float *rgb) {
  float b = dot3(o, d), c = dot3(o, o) - r * r;
  float t = -b + sqrtf(fmaxf(0.0f, b * b - c));
  float p[3] = {o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2]};
  /* colour blobs with sharp edges: corners and blobs that SIFT finds and tells apart */
  for (int k = 0; k < 3; k++) {
    float n = fractal_noise(p, BACKDROP_FREQ, NOISE_OCTAVES, 0x51a3u + (uint32_t)k * 7919u);
    float v = fminf(1.0f, fmaxf(0.0f, (n - 0.5f) * BACKDROP_GAIN + 0.5f));
    v = v * v * (3.0f - 2.0f * v);
    rgb[k] = 0.04f + 0.9f * v;
  }
}

/* ---- Tracing ----------------------------------------------------------------------------------- */

/* Shaded linear colour of the unit ray (o, d); returns the hit distance or -1 on a miss. textured:
 * the albedo is colour noise (the backdrop is the caller's). */
static float trace_unit(const float *o, const float *d, bool textured, float *rgb) {
  /* Skip rays that miss the scene's bounding sphere (the background), and start the others at
   * its entry: intersecting from nearby keeps the quadratics well conditioned in float. */
  float b = dot3(o, d);
  float q[3] = {o[0] - b * d[0], o[1] - b * d[1], o[2] - b * d[2]};
  float disc = NGP_SYNTH_RADIUS * NGP_SYNTH_RADIUS - dot3(q, q);
  if (disc < 0.0f) return -1.0f;
  float t_enter = -b - sqrtf(disc);
  if (t_enter < 0.0f) t_enter = 0.0f;
  float o2[3] = {o[0] + t_enter * d[0], o[1] + t_enter * d[1], o[2] + t_enter * d[2]};
  synth_hit hit;
  scene_intersect(o2, d, 0.0f, &hit);
  if (hit.obj < 0) return -1.0f;
  if (rgb) {
    const synth_object *ob = &k_objects[hit.obj];
    float cr = cosf(ob->rot), sr = sinf(ob->rot);
    float n[3] = {cr * hit.n[0] - sr * hit.n[1], sr * hit.n[0] + cr * hit.n[1], hit.n[2]};
    float l[3] = {k_light[0], k_light[1], k_light[2]};
    normalize3(l);
    float ndl = dot3(n, l);
    float shade = AMBIENT * (0.8f + 0.2f * n[2]); /* a little more light from the sky above */
    if (ndl > 0.0f) {
      /* Shadow ray from just off the surface (1e-3 units is far above float error at |p| ~ 1). */
      float t = t_enter + hit.t;
      float so[3] = {o[0] + t * d[0] + 1e-3f * n[0], o[1] + t * d[1] + 1e-3f * n[1], o[2] + t * d[2] + 1e-3f * n[2]};
      synth_hit sh;
      scene_intersect(so, l, 0.0f, &sh);
      if (sh.obj < 0) shade += DIFFUSE * ndl;
    }
    if (textured) {
      float np[3] = {hit.p[0] + 3.1f * (float)hit.obj, hit.p[1], hit.p[2]};
      for (int k = 0; k < 3; k++) {
        float nz = fractal_noise(np, SOLID_FREQ, NOISE_OCTAVES, 0x7e57u + (uint32_t)k * 104729u);
        float v = fminf(1.0f, fmaxf(0.0f, (nz - 0.5f) * SOLID_GAIN + 0.5f));
        rgb[k] = 0.06f + 0.84f * v * v * (3.0f - 2.0f * v);
      }
    } else {
      albedo(&hit, rgb);
    }
    scale3(rgb, shade);
  }
  return t_enter + hit.t;
}

float ngp_synth_trace(const float origin[3], const float dir[3], float rgb[3]) {
  float d[3] = {dir[0], dir[1], dir[2]};
  normalize3(d);
  if (!(dot3(d, d) > 0.5f)) return -1.0f; /* zero or non-finite direction */
  float t = trace_unit(origin, d, false, rgb);
  if (t < 0.0f && rgb) rgb[0] = rgb[1] = rgb[2] = 0.0f;
  return t;
}

/* Distance in the (r, z) half-plane from (r, z) to the segment (r0, z0)-(r1, z1). */
static float segment_distance_2d(float r, float z, float r0, float z0, float r1, float z1) {
  float dr = r1 - r0, dz = z1 - z0, len2 = dr * dr + dz * dz;
  float t = len2 > 0.0f ? ((r - r0) * dr + (z - z0) * dz) / len2 : 0.0f;
  t = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
  float er = r0 + t * dr - r, ez = z0 + t * dz - z;
  return sqrtf(er * er + ez * ez);
}

/* Distance from p (the object's frame) to the object's surface. Cylinders and cones are solids of
 * revolution: the nearest surface point lies in p's half-plane through the axis, on the outline of
 * their cross-section less the axis itself. */
static float object_distance(const synth_object *ob, const float *p) {
  switch (ob->kind) {
  case SHAPE_SPHERE: return fabsf(sqrtf(dot3(p, p)) - ob->a);
  case SHAPE_BOX: {
    const float half[3] = {ob->a, ob->b, ob->h};
    float q[3], out = 0.0f, in = -INFINITY;
    for (int k = 0; k < 3; k++) {
      q[k] = fabsf(p[k]) - half[k];
      if (q[k] > 0.0f) out += q[k] * q[k];
      if (q[k] > in) in = q[k];
    }
    return out > 0.0f ? sqrtf(out) : -in;
  }
  case SHAPE_CYLINDER: {
    float r = sqrtf(p[0] * p[0] + p[1] * p[1]), a = ob->a, h = ob->h;
    float d = segment_distance_2d(r, p[2], 0.0f, -h, a, -h);
    d = fminf(d, segment_distance_2d(r, p[2], a, -h, a, h));
    return fminf(d, segment_distance_2d(r, p[2], a, h, 0.0f, h));
  }
  case SHAPE_CONE: {
    float r = sqrtf(p[0] * p[0] + p[1] * p[1]);
    return fminf(segment_distance_2d(r, p[2], 0.0f, 0.0f, ob->a, 0.0f),
                 segment_distance_2d(r, p[2], ob->a, 0.0f, 0.0f, ob->h));
  }
  }
  return INFINITY;
}

float ngp_synth_distance(const float p[3]) {
  float best = INFINITY;
  const float zero[3] = {0.0f, 0.0f, 0.0f};
  for (int i = 0; i < N_OBJECTS; i++) {
    float lp[3], ld[3];
    to_local(&k_objects[i], p, zero, lp, ld);
    best = fminf(best, object_distance(&k_objects[i], lp));
  }
  return best;
}

/* Sub-pixel sample positions in [0,1)^2: a k x k grid when spp = k^2 (1, 4, 9, ...), otherwise a
 * Hammersley set (x stratified, y the base-2 radical inverse, shifted to centre the strata). */
static void sample_offsets(int spp, float (*xy)[2]) {
  int k = (int)lroundf(sqrtf((float)spp));
  for (int i = 0; i < spp; i++) {
    if (k * k == spp) {
      xy[i][0] = ((float)(i % k) + 0.5f) / (float)k;
      xy[i][1] = ((float)(i / k) + 0.5f) / (float)k;
    } else {
      uint32_t bits = (uint32_t)i, rev = 0;
      for (int b = 0; b < 32; b++, bits >>= 1)
        rev = (rev << 1) | (bits & 1u);
      float y = (float)rev * 2.3283064365386963e-10f + 0.5f / (float)spp;
      xy[i][0] = ((float)i + 0.5f) / (float)spp;
      xy[i][1] = y >= 1.0f ? y - 1.0f : y;
    }
  }
}

static uint8_t to_byte(float v) {
  v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
  return (uint8_t)lroundf(v * 255.0f);
}

typedef struct {
  const float *c2w;
  float focal;
  int width, height, spp;
  bool textured;
  float backdrop_radius;
  float xy[SPP_MAX][2];
  uint8_t *rgba;
} render_job;

/* Renders rows [y0, y1) of a view. */
static void render_rows(const render_job *job, int y0, int y1) {
  const float *m = job->c2w;
  const float o[3] = {m[3], m[7], m[11]};
  const float cx = 0.5f * (float)job->width, cy = 0.5f * (float)job->height;
  for (int y = y0; y < y1; y++) {
    uint8_t *row = job->rgba + (size_t)y * (size_t)job->width * 4;
    for (int x = 0; x < job->width; x++) {
      float acc[3] = {0.0f, 0.0f, 0.0f};
      int covered = 0;
      for (int s = 0; s < job->spp; s++) {
        /* Camera space: x right, y up, looking down -z; pixel rows run downwards. */
        float dc[3] = {((float)x + job->xy[s][0] - cx) / job->focal, -((float)y + job->xy[s][1] - cy) / job->focal,
                       -1.0f};
        float d[3];
        for (int r = 0; r < 3; r++)
          d[r] = m[r * 4 + 0] * dc[0] + m[r * 4 + 1] * dc[1] + m[r * 4 + 2] * dc[2];
        normalize3(d);
        float rgb[3];
        float t = trace_unit(o, d, job->textured, rgb);
        if (t < 0.0f && job->textured) { /* the backdrop catches every ray that misses the solids */
          backdrop_rgb(o, d, job->backdrop_radius, rgb);
          t = 0.0f;
        }
        if (t >= 0.0f) {
          acc[0] += rgb[0];
          acc[1] += rgb[1];
          acc[2] += rgb[2];
          covered++;
        }
      }
      uint8_t *px = row + (size_t)x * 4;
      if (covered == 0) {
        px[0] = px[1] = px[2] = px[3] = 0;
        continue;
      }
      /* Straight alpha: the colour is the mean over the covered samples only. */
      for (int c = 0; c < 3; c++)
        px[c] = to_byte(ngp_linear_to_srgb(acc[c] / (float)covered));
      px[3] = to_byte((float)covered / (float)job->spp);
    }
  }
}

static void render_job_init(render_job *job, const ngp_synth_options *opts, const float *c2w, float focal, int width,
                            int height, uint8_t *rgba) {
  int spp = opts ? opts->spp : 4;
  job->c2w = c2w;
  job->focal = focal;
  job->width = width;
  job->height = height;
  job->spp = spp < 1 ? 1 : spp > SPP_MAX ? SPP_MAX : spp;
  job->textured = opts ? opts->textured : false;
  job->backdrop_radius = opts ? opts->backdrop_radius : NGP_SYNTH_BACKDROP_RADIUS;
  job->rgba = rgba;
  sample_offsets(job->spp, job->xy);
}

static void render_row_fn(int i, int thread_index, void *user) {
  (void)thread_index;
  render_rows(user, i, i + 1);
}

void ngp_synth_render(const ngp_synth_options *opts, const float *c2w, float focal, int width, int height,
                      uint8_t *rgba) {
  if (!c2w || !rgba || width <= 0 || height <= 0) return;
  if (!(focal > 0.0f) || !isfinite(focal)) { /* nothing sensible to render */
    memset(rgba, 0, (size_t)width * (size_t)height * 4);
    return;
  }
  render_job job;
  render_job_init(&job, opts, c2w, focal, width, height, rgba);
  ngp_parallel_for(height, opts ? opts->n_threads : 0, render_row_fn, &job);
}

/* ---- Cameras ----------------------------------------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and every seed gives a good stream. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static float rand01(uint64_t *state) { return (float)(splitmix64(state) >> 40) * 5.9604644775390625e-8f; }

/* Camera at distance `dist` from the origin, azimuth `az` about +z, height z = dist * sin_el,
 * looking at the origin with world +z up: columns are right, up, back (NeRF: looks down -z). */
static void look_at_origin(float az, float sin_el, float dist, float *c2w) {
  float cos_el = sqrtf(fmaxf(0.0f, 1.0f - sin_el * sin_el));
  float back[3] = {cos_el * cosf(az), cos_el * sinf(az), sin_el};
  float up_world[3] = {0.0f, 0.0f, 1.0f};
  float right[3], up[3];
  cross3(up_world, back, right);
  if (dot3(right, right) < 1e-8f) { /* straight above or below: any horizontal right will do */
    right[0] = -sinf(az);
    right[1] = cosf(az);
    right[2] = 0.0f;
  }
  normalize3(right);
  cross3(back, right, up);
  normalize3(up);
  /* + 0.0f turns -0 into +0 (IEEE round-to-nearest), so the json never shows "-0". */
  for (int r = 0; r < 3; r++) {
    c2w[r * 4 + 0] = right[r] + 0.0f;
    c2w[r * 4 + 1] = up[r] + 0.0f;
    c2w[r * 4 + 2] = back[r] + 0.0f;
    c2w[r * 4 + 3] = dist * back[r] + 0.0f;
  }
}

static ngp_status validate(const ngp_synth_options *opts, ngp_error *err) {
  if (!opts)
    return ngp_error_set(err, NGP_ERR_INVALID, "synth: options are NULL; start from ngp_synth_options_default()");
#define CHECK_RANGE(field, lo, hi)                                                                                     \
  if (opts->field < (lo) || opts->field > (hi))                                                                        \
    return ngp_error_set(err, NGP_ERR_INVALID, "synth: " #field " is %d; it must be from %d to %d", opts->field, (lo), \
                         (hi));
  CHECK_RANGE(width, 1, SIZE_MAX_PX)
  CHECK_RANGE(height, 1, SIZE_MAX_PX)
  CHECK_RANGE(n_train, 1, VIEWS_MAX)
  CHECK_RANGE(n_test, 0, VIEWS_MAX)
  CHECK_RANGE(spp, 1, SPP_MAX)
#undef CHECK_RANGE
  if (!isfinite(opts->camera_angle_x) || !(opts->camera_angle_x > 0.0f) || !(opts->camera_angle_x < 3.1f))
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "synth: camera_angle_x is %g; it must be a field of view in radians, above 0 and below 3.1 "
                         "(lego's is 0.691)",
                         (double)opts->camera_angle_x);
  if (!isfinite(opts->camera_distance) || !(opts->camera_distance > NGP_SYNTH_RADIUS))
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "synth: camera_distance is %g; it must be finite and above %g, the scene's radius (default 4)",
                         (double)opts->camera_distance, (double)NGP_SYNTH_RADIUS);
  if (opts->textured && (!isfinite(opts->backdrop_radius) || !(opts->camera_distance < opts->backdrop_radius)))
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "synth: backdrop_radius is %g; textured, it must be finite and above camera_distance (%g)",
                         (double)opts->backdrop_radius, (double)opts->camera_distance);
  return NGP_OK;
}

ngp_status ngp_synth_cameras(const ngp_synth_options *opts, bool test_split, float *c2w, ngp_error *err) {
  ngp_status st = validate(opts, err);
  if (st != NGP_OK) return st;
  int n = test_split ? opts->n_test : opts->n_train;
  float dist = opts->camera_distance;
  if (test_split) {
    /* A fixed spiral: once around in azimuth while the elevation swings twice between about 15
     * and 45 degrees. Independent of the seed, and never on the training lattice by design. */
    for (int i = 0; i < n; i++) {
      float f = ((float)i + 0.5f) / (float)n;
      float az = TWO_PI_F * f + 0.37f;
      float el = (30.0f + 15.0f * sinf(2.0f * TWO_PI_F * f)) * (PI_F / 180.0f);
      look_at_origin(az, sinf(el), dist, c2w + (size_t)i * 12);
    }
    return NGP_OK;
  }
  /* Train: a Fibonacci lattice over the band z/dist in [0.08, 0.99] of the upper hemisphere
   * (uniform by area, so the views spread evenly), with a seeded rotation, per-view jitter within
   * each lattice cell, and a seeded shuffle so that any prefix of the frames still covers the
   * whole hemisphere. */
  float *az = malloc((size_t)n * sizeof *az), *sz = malloc((size_t)n * sizeof *sz);
  if (!az || !sz) {
    free(az);
    free(sz);
    return ngp_error_set(err, NGP_ERR_NOMEM, "synth: out of memory for %d cameras", n);
  }
  uint64_t rng = 0x6E67702D73796E74ull ^ ((uint64_t)opts->seed * 0xD1B54A32D192ED03ull);
  const float z_lo = 0.08f, z_hi = 0.99f, golden_angle = 2.39996323f;
  float az0 = TWO_PI_F * rand01(&rng);
  for (int i = 0; i < n; i++) {
    sz[i] = z_lo + (z_hi - z_lo) * ((float)i + rand01(&rng)) / (float)n;
    az[i] = az0 + golden_angle * (float)i + 0.5f * (rand01(&rng) - 0.5f);
  }
  for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
    int j = (int)(((splitmix64(&rng) >> 32) * (uint64_t)(i + 1)) >> 32);
    float ta = az[i], tz = sz[i];
    az[i] = az[j];
    sz[i] = sz[j];
    az[j] = ta;
    sz[j] = tz;
  }
  for (int i = 0; i < n; i++)
    look_at_origin(fmodf(az[i], TWO_PI_F), sz[i], dist, c2w + (size_t)i * 12);
  free(az);
  free(sz);
  return NGP_OK;
}

/* ---- Writing the scene ------------------------------------------------------------------------- */

typedef struct {
  char *buf;
  size_t len, cap;
  bool failed;
} strbuf;

static void sb_printf(strbuf *sb, const char *fmt, ...) NGP_PRINTF(2, 3);
static void sb_printf(strbuf *sb, const char *fmt, ...) {
  if (sb->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, sb->buf ? sb->cap - sb->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      sb->failed = true;
      return;
    }
    if (sb->buf && (size_t)n < sb->cap - sb->len) {
      sb->len += (size_t)n;
      return;
    }
    size_t cap = sb->cap ? sb->cap * 2 : 4096;
    while (cap < sb->len + (size_t)n + 1)
      cap *= 2;
    char *nb = realloc(sb->buf, cap);
    if (!nb) {
      sb->failed = true;
      return;
    }
    sb->buf = nb;
    sb->cap = cap;
  }
}

/* transforms_<split>.json in NeRF-synthetic's layout; %.9g round-trips every float exactly. */
static ngp_status write_json(const char *dir, const char *split, const ngp_synth_options *opts, const float *c2w, int n,
                             ngp_error *err) {
  strbuf sb = {0};
  sb_printf(&sb, "{\n  \"camera_angle_x\": %.9g,\n  \"w\": %d,\n  \"h\": %d,\n  \"aabb_scale\": 1,\n  \"frames\": [",
            (double)opts->camera_angle_x, opts->width, opts->height);
  for (int i = 0; i < n; i++) {
    const float *m = c2w + (size_t)i * 12;
    sb_printf(&sb,
              "%s\n    {\n      \"file_path\": \"./%s/r_%d\",\n      \"rotation\": 0,\n      \"transform_matrix\": [",
              i ? "," : "", split, i);
    for (int r = 0; r < 3; r++)
      sb_printf(&sb, "\n        [%.9g, %.9g, %.9g, %.9g],", (double)m[r * 4], (double)m[r * 4 + 1],
                (double)m[r * 4 + 2], (double)m[r * 4 + 3]);
    sb_printf(&sb, "\n        [0, 0, 0, 1]\n      ]\n    }");
  }
  sb_printf(&sb, "\n  ]\n}\n");
  if (sb.failed) {
    free(sb.buf);
    return ngp_error_set(err, NGP_ERR_NOMEM, "synth: out of memory writing transforms_%s.json", split);
  }
  char name[64];
  snprintf(name, sizeof name, "transforms_%s.json", split);
  char *path = ngp_path_join(dir, name);
  ngp_status st = path ? ngp_write_file_atomic(path, sb.buf, sb.len, err)
                       : ngp_error_set(err, NGP_ERR_NOMEM, "synth: out of memory");
  free(path);
  free(sb.buf);
  return st;
}

typedef struct {
  const char *dir;
  const ngp_synth_options *opts;
  const float *cams[2]; /* train, test */
  float focal;
  pthread_mutex_t lock;
  int first_failed; /* lowest failing view index (train first, then test); > 2 * VIEWS_MAX if none */
  ngp_error err;    /* its error */
} write_ctx;

static void png_append(void *context, void *data, int size) {
  strbuf *sb = context;
  if (sb->failed || size <= 0) return;
  if (sb->len + (size_t)size > sb->cap) {
    size_t cap = sb->len + (size_t)size;
    char *nb = realloc(sb->buf, cap);
    if (!nb) {
      sb->failed = true;
      return;
    }
    sb->buf = nb;
    sb->cap = cap;
  }
  memcpy(sb->buf + sb->len, data, (size_t)size);
  sb->len += (size_t)size;
}

static ngp_status write_view(write_ctx *ctx, int split, int index, ngp_error *err) {
  const ngp_synth_options *o = ctx->opts;
  const char *split_name = split ? "test" : "train";
  size_t bytes = (size_t)o->width * (size_t)o->height * 4;
  uint8_t *rgba = malloc(bytes);
  if (!rgba) return ngp_error_set(err, NGP_ERR_NOMEM, "synth: out of memory for a %dx%d view", o->width, o->height);
  render_job job;
  render_job_init(&job, o, ctx->cams[split] + (size_t)index * 12, ctx->focal, o->width, o->height, rgba);
  render_rows(&job, 0, o->height);
  strbuf png = {0};
  int ok = stbi_write_png_to_func(png_append, &png, o->width, o->height, 4, rgba, o->width * 4);
  free(rgba);
  if (!ok || png.failed) {
    free(png.buf);
    return ngp_error_set(err, NGP_ERR_NOMEM, "synth: %s/r_%d.png: PNG encoding failed (out of memory?)", split_name,
                         index);
  }
  char rel[64];
  snprintf(rel, sizeof rel, "%s/r_%d.png", split_name, index);
  char *path = ngp_path_join(ctx->dir, rel);
  ngp_status st = path ? ngp_write_file_atomic(path, png.buf, png.len, err)
                       : ngp_error_set(err, NGP_ERR_NOMEM, "synth: out of memory");
  free(path);
  free(png.buf);
  return st;
}

static void write_view_fn(int i, int thread_index, void *user) {
  (void)thread_index;
  write_ctx *ctx = user;
  pthread_mutex_lock(&ctx->lock);
  bool give_up = ctx->first_failed < i; /* an earlier view failed: the scene is lost anyway */
  pthread_mutex_unlock(&ctx->lock);
  if (give_up) return;
  int split = i < ctx->opts->n_train ? 0 : 1;
  int index = split ? i - ctx->opts->n_train : i;
  ngp_error e;
  if (write_view(ctx, split, index, &e) == NGP_OK) return;
  /* Keep the lowest index's error, so the message does not depend on thread timing. */
  pthread_mutex_lock(&ctx->lock);
  if (i < ctx->first_failed) {
    ctx->first_failed = i;
    ctx->err = e;
  }
  pthread_mutex_unlock(&ctx->lock);
}

ngp_status ngp_synth_write_scene(const char *dir, const ngp_synth_options *opts, ngp_error *err) {
  if (!dir || !dir[0]) return ngp_error_set(err, NGP_ERR_INVALID, "synth: no output folder given");
  ngp_status st = validate(opts, err);
  if (st != NGP_OK) return st;
  char *sub[2] = {ngp_path_join(dir, "train"), ngp_path_join(dir, "test")};
  float *cams[2] = {malloc((size_t)opts->n_train * 12 * sizeof(float)),
                    malloc(((size_t)opts->n_test + 1) * 12 * sizeof(float))};
  if (!sub[0] || !sub[1] || !cams[0] || !cams[1]) {
    st = ngp_error_set(err, NGP_ERR_NOMEM, "synth: out of memory");
    goto done;
  }
  if ((st = ngp_mkdir_p(sub[0], err)) != NGP_OK || (st = ngp_mkdir_p(sub[1], err)) != NGP_OK) goto done;
  if ((st = ngp_synth_cameras(opts, false, cams[0], err)) != NGP_OK ||
      (st = ngp_synth_cameras(opts, true, cams[1], err)) != NGP_OK)
    goto done;

  write_ctx ctx = {.dir = dir, .opts = opts, .cams = {cams[0], cams[1]}, .first_failed = VIEWS_MAX * 2 + 1};
  ctx.focal = ngp_fov_to_focal(opts->camera_angle_x, (float)opts->width);
  if (pthread_mutex_init(&ctx.lock, NULL) != 0) {
    st = ngp_error_set(err, NGP_ERR_NOMEM, "synth: cannot create a mutex");
    goto done;
  }
  /* One view per work item: views take about the same time, and each is rendered on one thread, so
   * the bytes cannot depend on the thread count. */
  ngp_parallel_for(opts->n_train + opts->n_test, opts->n_threads, write_view_fn, &ctx);
  pthread_mutex_destroy(&ctx.lock);
  if (ctx.first_failed <= VIEWS_MAX * 2) {
    st = ctx.err.status;
    if (err) *err = ctx.err;
    goto done;
  }
  /* The json files last: their presence means the images they list are all there. */
  if ((st = write_json(dir, "train", opts, cams[0], opts->n_train, err)) != NGP_OK) goto done;
  st = write_json(dir, "test", opts, cams[1], opts->n_test, err);
done:
  free(sub[0]);
  free(sub[1]);
  free(cams[0]);
  free(cams[1]);
  return st;
}
