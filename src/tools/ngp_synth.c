/* ngp_synth.c: the ngp-synth command, which writes the synthetic scene of ngp/synth.h to a folder
 * in the NeRF-synthetic layout (transforms_{train,test}.json, train/r_<i>.png, test/r_<i>.png).
 *
 * Options take `--name VALUE` or `--name=VALUE`. Exit codes: 0 done, 2 usage error (one line on
 * stderr naming the option, then a pointer to --help), 1 anything else (one line on stderr). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "ngp/synth.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void print_help(FILE *f) {
  ngp_synth_options d;
  ngp_synth_options_default(&d);
  fprintf(f,
          "Usage: ngp-synth --out DIR [options]\n"
          "\n"
          "Renders an analytic scene (textured solids on a transparent background, exact ground truth)\n"
          "and writes it in the NeRF-synthetic layout: DIR/transforms_train.json, transforms_test.json,\n"
          "train/r_<i>.png, test/r_<i>.png. Same options give byte-identical files.\n"
          "\n"
          "Options:\n"
          "  --out DIR      output folder (created if needed; existing files are replaced)\n"
          "  --width W      image width in pixels, 1..16384 (default %d)\n"
          "  --height H     image height in pixels, 1..16384 (default %d)\n"
          "  --size N       width and height both\n"
          "  --train N      training views, 1..100000 (default %d)\n"
          "  --test N       test views, 0..100000 (default %d)\n"
          "  --seed S       seed for the training cameras, 0..4294967295 (default %u)\n"
          "  --spp N        samples per pixel for antialiasing, 1..64 (default %d)\n"
          "  --fov DEG      horizontal field of view in degrees, 1..170 (default %.1f, lego's)\n"
          "  --distance D   camera distance from the scene's centre, above %g, at most 100 units\n"
          "                 (default %g; with --textured below the backdrop's radius)\n"
          "  --threads N    threads, 0 = all cores (default 0)\n"
          "  --textured     opaque: colour noise on every surface and a textured backdrop, for COLMAP\n"
          "  --backdrop R   with --textured: the backdrop sphere's radius, above --distance, at most\n"
          "                 1000 (default %g); nearer gives feature matchers more parallax\n"
          "  --quiet        print nothing on success\n"
          "  --help         show this help and exit\n"
          "  --version      print the version and exit\n",
          d.width, d.height, d.n_train, d.n_test, (unsigned)d.seed, d.spp, (double)d.camera_angle_x * 57.29577951308232,
          (double)NGP_SYNTH_RADIUS, (double)d.camera_distance, (double)NGP_SYNTH_BACKDROP_RADIUS);
}

/* One line naming the problem, one pointing to --help; returns the usage exit code. */
static int usage(const char *fmt, ...) NGP_PRINTF(1, 2);
static int usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "ngp-synth: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nsee ngp-synth --help\n");
  va_end(ap);
  return EXIT_USAGE;
}

/* Parses a whole finite decimal number strictly inside (lo, hi); false on anything else. */
static bool parse_float(const char *s, double lo, double hi, double *out) {
  if (!s || !*s) return false;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !isfinite(v)) return false;
  if (!(v > lo && v < hi)) return false;
  *out = v;
  return true;
}

/* Parses a whole decimal integer in [lo, hi]; false on anything else (empty, trailing text, overflow). */
static bool parse_int(const char *s, long long lo, long long hi, long long *out) {
  if (!s || !*s) return false;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end) return false;
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

typedef struct {
  const char *name;
  long long lo, hi;
  const char *what;
} int_opt;

static const int_opt k_int_opts[] = {
    {"width", 1, 16384, "an image width from 1 to 16384"},
    {"height", 1, 16384, "an image height from 1 to 16384"},
    {"size", 1, 16384, "an image size from 1 to 16384"},
    {"train", 1, 100000, "a number of training views from 1 to 100000"},
    {"test", 0, 100000, "a number of test views from 0 to 100000"},
    {"seed", 0, 4294967295LL, "a seed from 0 to 4294967295"},
    {"spp", 1, 64, "a number of samples per pixel from 1 to 64"},
    {"threads", 0, 4096, "a thread count from 0 to 4096 (0 means all cores)"},
};
#define N_INT_OPTS ((int)(sizeof k_int_opts / sizeof k_int_opts[0]))

int main(int argc, char **argv) {
  ngp_synth_options opts;
  ngp_synth_options_default(&opts);
  const char *out = NULL;
  bool quiet = false, backdrop_given = false;

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
      return usage("unexpected argument '%s'; options start with --", arg);
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
    char key[32];
    if (name_len >= sizeof key) return usage("unknown option '%s'", arg);
    memcpy(key, name, name_len);
    key[name_len] = '\0';

    if (!strcmp(key, "help") || !strcmp(key, "version") || !strcmp(key, "quiet") || !strcmp(key, "textured")) {
      if (eq) return usage("--%s takes no value (got '%s')", key, eq + 1);
      if (!strcmp(key, "help")) {
        print_help(stdout);
        return EXIT_OK;
      }
      if (!strcmp(key, "version")) {
        printf("ngp-synth %s\n", ngp_version());
        return EXIT_OK;
      }
      if (!strcmp(key, "textured"))
        opts.textured = true;
      else
        quiet = true;
      continue;
    }

    /* Everything else takes a value, inline or as the next argument. */
    bool known = !strcmp(key, "out") || !strcmp(key, "fov") || !strcmp(key, "distance") || !strcmp(key, "backdrop");
    for (int k = 0; k < N_INT_OPTS; k++)
      known = known || !strcmp(key, k_int_opts[k].name);
    if (!known) return usage("unknown option '%s'", arg);
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!value) return usage("--%s needs a value", key);

    if (!strcmp(key, "out")) {
      if (!*value) return usage("--out: the folder name is empty");
      out = value;
      continue;
    }
    if (!strcmp(key, "fov")) {
      double v;
      if (!parse_float(value, 0.999, 170.001, &v) || v < 1.0 || v > 170.0)
        return usage("--fov: '%s' is not a field of view from 1 to 170 degrees", value);
      opts.camera_angle_x = (float)(v / 57.29577951308232);
      continue;
    }
    if (!strcmp(key, "distance")) {
      double v;
      if (!parse_float(value, NGP_SYNTH_RADIUS, 100.0001, &v) || v > 100.0)
        return usage("--distance: '%s' is not a camera distance above %g (the scene's radius) and at most 100", value,
                     (double)NGP_SYNTH_RADIUS);
      opts.camera_distance = (float)v;
      continue;
    }
    if (!strcmp(key, "backdrop")) {
      double v;
      if (!parse_float(value, NGP_SYNTH_RADIUS, 1000.0001, &v) || v > 1000.0)
        return usage("--backdrop: '%s' is not a radius above %g (the scene's radius) and at most 1000", value,
                     (double)NGP_SYNTH_RADIUS);
      opts.backdrop_radius = (float)v;
      backdrop_given = true;
      continue;
    }
    for (int k = 0; k < N_INT_OPTS; k++) {
      const int_opt *o = &k_int_opts[k];
      if (strcmp(key, o->name) != 0) continue;
      long long v;
      if (!parse_int(value, o->lo, o->hi, &v)) return usage("--%s: '%s' is not %s", key, value, o->what);
      if (!strcmp(key, "width"))
        opts.width = (int)v;
      else if (!strcmp(key, "height"))
        opts.height = (int)v;
      else if (!strcmp(key, "size"))
        opts.width = opts.height = (int)v;
      else if (!strcmp(key, "train"))
        opts.n_train = (int)v;
      else if (!strcmp(key, "test"))
        opts.n_test = (int)v;
      else if (!strcmp(key, "seed"))
        opts.seed = (uint32_t)v;
      else if (!strcmp(key, "spp"))
        opts.spp = (int)v;
      else if (!strcmp(key, "threads"))
        opts.n_threads = (int)v;
    }
  }
  if (!out) return usage("--out DIR is required");
  if (backdrop_given && !opts.textured) return usage("--backdrop needs --textured (the plain scene has no backdrop)");
  if (opts.textured && !(opts.camera_distance < opts.backdrop_radius))
    return usage("--distance %g must be below the backdrop's radius %g (--backdrop)", (double)opts.camera_distance,
                 (double)opts.backdrop_radius);

  double t0 = ngp_seconds();
  ngp_error err;
  if (ngp_synth_write_scene(out, &opts, &err) != NGP_OK) {
    fprintf(stderr, "ngp-synth: %s\n", err.msg);
    return EXIT_FAIL;
  }
  double dt = ngp_seconds() - t0;
  if (!quiet)
    printf("ngp-synth: wrote %d train + %d test views (%dx%d, %d spp) to %s in %.2f s\n", opts.n_train, opts.n_test,
           opts.width, opts.height, opts.spp, out, dt);
  return EXIT_OK;
}
