/* testutil.h: helpers shared by the cmocka tests: scratch folders, small files, log capture.
 * Include this first: it includes what cmocka 1.x needs before cmocka.h. */
#ifndef NGP_TESTUTIL_H
#define NGP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "ngp/ngp.h"
#include "engine/eval.h"
#include "nerf/nerf.h"

/* A fresh, empty folder $NGP_TEST_TMPDIR/<name> (default /tmp/ngp-tests/<name>); malloc'd path. */
char *ngp_test_tmpdir(const char *name);
/* dir/rel as a malloc'd string. */
char *ngp_test_path(const char *dir, const char *rel);
void ngp_test_write_text(const char *path, const char *text);
void ngp_test_write_bytes(const char *path, const void *data, size_t len);
/* Writes a PNG of the given channel count (1..4) whose pixel (x, y) has every channel equal to
 * (x + 3*y + seed) & 255, so tests can check values after loading. */
void ngp_test_write_png(const char *path, int w, int h, int channels, int seed);
/* The root of the source tree (for configs/). */
const char *ngp_test_source_dir(void);

/* Captures library log messages (warnings etc.) until ngp_test_log_end(). */
void ngp_test_log_begin(void);
void ngp_test_log_end(void);
int ngp_test_log_count(void);        /* messages captured */
const char *ngp_test_log_text(void); /* all captured messages, one per line */

/* Asserts that `haystack` contains `needle`, printing both when it does not. */
#define assert_contains(haystack, needle) ngp_test_assert_contains((haystack), (needle), __FILE__, __LINE__)
void ngp_test_assert_contains(const char *haystack, const char *needle, const char *file, int line);

/* A NeRF of the engine's structure at unit-test size (hash grid L=8, F=2, T=2^15; MLPs 32 wide,
 * one hidden layer; SH degree 4), initialised with seed 42 on n_threads threads. */
extern const char *const ngp_test_small_config;
void ngp_test_small_nerf(ngp_nerf *n, int aabb_scale, int n_threads);

/* Generates a synthetic scene (ngp-synth's generator, size x size pixels, n_train and n_test
 * views; seed < 0 keeps the generator's default) into the fresh folder ngp_test_tmpdir(name) and
 * loads its training split into *train and, when test is not NULL, its test split into *test.
 * Returns the folder (malloc'd). */
char *ngp_test_synth_scene(const char *name, int size, int n_train, int n_test, int seed, ngp_scene *train,
                           ngp_scene *test);
/* ngp_eval_views on the CPU backend over n (its inference weights), created and destroyed here. */
ngp_status ngp_test_eval_views(ngp_nerf *n, const ngp_scene *views, const float bg[3], int spp, ngp_eval_result *res,
                               ngp_error *err);
#endif
