/* test_core.c: the library's plumbing: natural sort, paths, JSON parsing with locations, typed
 * getters, atomic writes, parallel_for, and the shared frame maths of ngp_math.h. */
#define _DEFAULT_SOURCE /* syscall(SYS_gettid) */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/json_util.h"
#include "common/ngp_math.h"
#include "core/parallel.h"

static void test_natcmp(void **state) {
  (void)state;
  assert_true(ngp_natcmp("r_2", "r_10") < 0);
  assert_true(ngp_natcmp("r_10", "r_2") > 0);
  assert_true(ngp_natcmp("images/0001.jpg", "images/0002.jpg") < 0);
  assert_true(ngp_natcmp("a", "a") == 0);
  assert_true(ngp_natcmp("a", "ab") < 0);
  assert_true(ngp_natcmp("x9y", "x10y") < 0);
  assert_true(ngp_natcmp("01", "1") > 0); /* same value: fewer leading zeros first */
  assert_true(ngp_natcmp("abc", "abd") < 0);
}

static void test_paths(void **state) {
  (void)state;
  char *d = ngp_path_dirname("a/b/c.json");
  assert_string_equal(d, "a/b");
  free(d);
  d = ngp_path_dirname("c.json");
  assert_string_equal(d, ".");
  free(d);
  d = ngp_path_dirname("/c.json");
  assert_string_equal(d, "/");
  free(d);
  char *j = ngp_path_join("a/b", "./train/r_0");
  assert_string_equal(j, "a/b/./train/r_0");
  free(j);
  j = ngp_path_join("a/b/", "/abs/x.png");
  assert_string_equal(j, "/abs/x.png");
  free(j);
  assert_string_equal(ngp_path_basename("a/b/c.json"), "c.json");
  assert_string_equal(ngp_path_extension("a/b/c.json"), ".json");
  assert_string_equal(ngp_path_extension("a.b/c"), "");
  assert_string_equal(ngp_path_extension("a/.hidden"), "");
  assert_true(ngp_path_has_extension("shots/R_0.PNG", ".png"));
  assert_true(ngp_path_has_extension("log.JsonL", ".jsonl"));
  assert_false(ngp_path_has_extension("a.png/b", ".png"));
  assert_false(ngp_path_has_extension("b.pngx", ".png"));
  assert_false(ngp_path_has_extension("a/.png", ".png"));
  assert_false(ngp_path_has_extension("a.verylongextension", ".png"));
}

static void test_json_parse_locations(void **state) {
  (void)state;
  cJSON *root = NULL;
  ngp_error err;
  const char *bad = "{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}";
  assert_int_equal(ngp_json_parse(bad, strlen(bad), "x.json", &root, &err), NGP_ERR_PARSE);
  assert_null(root);
  assert_contains(err.msg, "x.json:3:");
  assert_contains(err.msg, "malformed JSON");

  const char *trunc = "{\"a\": [1, 2";
  assert_int_equal(ngp_json_parse(trunc, strlen(trunc), "t.json", &root, &err), NGP_ERR_PARSE);
  assert_contains(err.msg, "t.json:1:");

  assert_int_equal(ngp_json_parse("", 0, "empty.json", &root, &err), NGP_ERR_PARSE);
  assert_contains(err.msg, "empty.json");

  const char *trailing = "{\"a\": 1} x";
  assert_int_equal(ngp_json_parse(trailing, strlen(trailing), "tr.json", &root, &err), NGP_ERR_PARSE);
  assert_contains(err.msg, "tr.json:1:10");

  /* Comments are allowed and keep positions: the error after them is still on line 4. */
  const char *commented = "// a config\n{ /* block\n comment */ \"a\": 1,\n  \"b\": tru }";
  assert_int_equal(ngp_json_parse(commented, strlen(commented), "c.json", &root, &err), NGP_ERR_PARSE);
  assert_contains(err.msg, "c.json:4:");

  const char *ok = "// lead\n{\"url\": \"http://x//y\", /* c */ \"n\": 2}";
  assert_int_equal(ngp_json_parse(ok, strlen(ok), "ok.json", &root, &err), NGP_OK);
  assert_string_equal(cJSON_GetObjectItem(root, "url")->valuestring, "http://x//y");
  assert_int_equal(cJSON_GetObjectItem(root, "n")->valueint, 2);
  cJSON_Delete(root);
}

static void test_json_getters(void **state) {
  (void)state;
  const char *text = "{\"num\": 1.5, \"int\": 7, \"frac\": 7.5, \"str\": \"s\", \"b\": true, \"inf\": 1e999,"
                     " \"vec\": [1, 2, 3], \"short\": [1, 2], \"mat\": [[1,2,3,4],[5,6,7,8],[9,10,11,12]],"
                     " \"ragged\": [[1,2,3,4],[5,6,7]], \"nul\": null, \"big\": 1e300}";
  cJSON *root = NULL;
  ngp_error err;
  assert_int_equal(ngp_json_parse(text, strlen(text), "g.json", &root, &err), NGP_OK);
  double d = -1;
  bool present = true;
  assert_int_equal(ngp_json_get_double(root, "missing", "g.json", "", &d, &present, &err), NGP_OK);
  assert_false(present);
  assert_true(d == -1.0);
  assert_int_equal(ngp_json_get_double(root, "nul", "g.json", "", &d, &present, &err), NGP_OK);
  assert_false(present);
  assert_int_equal(ngp_json_get_double(root, "num", "g.json", "", &d, &present, &err), NGP_OK);
  assert_true(present);
  assert_true(d == 1.5);
  assert_int_equal(ngp_json_get_double(root, "str", "g.json", "frames[2]", &d, NULL, &err), NGP_ERR_INVALID);
  assert_string_equal(err.msg, "g.json: frames[2].str: expected a number, found a string");
  assert_int_equal(ngp_json_get_double(root, "inf", "g.json", "", &d, NULL, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "inf: the number is not finite");
  float f = 0;
  assert_int_equal(ngp_json_get_float(root, "big", "g.json", "", &f, NULL, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "out of range");
  int i = 0;
  assert_int_equal(ngp_json_get_int(root, "int", "g.json", "", 0, 10, &i, NULL, &err), NGP_OK);
  assert_int_equal(i, 7);
  assert_int_equal(ngp_json_get_int(root, "int", "g.json", "", 0, 5, &i, NULL, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "out of range [0, 5]");
  assert_int_equal(ngp_json_get_int(root, "frac", "g.json", "", 0, 10, &i, NULL, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "expected an integer");
  bool b = false;
  assert_int_equal(ngp_json_get_bool(root, "b", "g.json", "", &b, NULL, &err), NGP_OK);
  assert_true(b);
  assert_int_equal(ngp_json_get_bool(root, "int", "g.json", "", &b, NULL, &err), NGP_ERR_INVALID);
  const char *s = NULL;
  assert_int_equal(ngp_json_get_string(root, "str", "g.json", "", &s, NULL, &err), NGP_OK);
  assert_string_equal(s, "s");
  float v[3] = {0};
  assert_int_equal(ngp_json_get_vec(root, "vec", "g.json", "", 3, v, NULL, &err), NGP_OK);
  assert_true(v[0] == 1.0f && v[1] == 2.0f && v[2] == 3.0f);
  assert_int_equal(ngp_json_get_vec(root, "short", "g.json", "", 3, v, NULL, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "short: expected an array of 3 numbers, found 2 elements");
  float m[16];
  int rows = 0;
  assert_int_equal(ngp_json_get_matrix(root, "mat", "g.json", "", 3, 4, 4, m, &rows, NULL, &err), NGP_OK);
  assert_int_equal(rows, 3);
  assert_true(m[11] == 12.0f);
  assert_int_equal(ngp_json_get_matrix(root, "ragged", "g.json", "f", 2, 4, 4, m, &rows, NULL, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "f.ragged[1]: expected a row of 4 numbers, found 3 elements");
  assert_int_equal(ngp_json_get_matrix(root, "mat", "g.json", "", 4, 4, 4, m, &rows, NULL, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "found 3 rows");
  cJSON_Delete(root);
}

static void test_atomic_write(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("core_atomic");
  char *path = ngp_test_path(dir, "out.bin");
  ngp_error err;
  assert_int_equal(ngp_write_file_atomic(path, "first", 5, &err), NGP_OK);
  assert_int_equal(ngp_write_file_atomic(path, "second!", 7, &err), NGP_OK);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(ngp_read_file(path, 100, &text, &len, &err), NGP_OK);
  assert_int_equal(len, 7);
  assert_string_equal(text, "second!");
  free(text);
  /* A write that cannot happen (folder missing) fails with the path and leaves nothing behind. */
  char *bad = ngp_test_path(dir, "no/such/dir/out.bin");
  assert_int_equal(ngp_write_file_atomic(bad, "x", 1, &err), NGP_ERR_IO);
  assert_contains(err.msg, "no/such/dir/out.bin");
  /* Reading limits and errors. */
  assert_int_equal(ngp_read_file(path, 3, &text, &len, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "more than the 3 allowed");
  assert_int_equal(ngp_read_file(dir, 100, &text, &len, &err), NGP_ERR_IO);
  assert_contains(err.msg, "is a directory");
  char *missing = ngp_test_path(dir, "missing.json");
  assert_int_equal(ngp_read_file(missing, 100, &text, &len, &err), NGP_ERR_IO);
  assert_contains(err.msg, "No such file");
  free(missing);
  free(bad);
  free(path);
  free(dir);
}

static void test_list_dir(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("core_list");
  const char *names[] = {"b10.json", "b2.json", "a.json", "x.txt"};
  for (int i = 0; i < 4; i++) {
    char *p = ngp_test_path(dir, names[i]);
    ngp_test_write_text(p, "{}");
    free(p);
  }
  char *sub = ngp_test_path(dir, "sub.json");
  ngp_error err;
  assert_int_equal(ngp_mkdir_p(sub, &err), NGP_OK); /* a folder named .json is not listed */
  char **list = NULL;
  int n = 0;
  assert_int_equal(ngp_list_dir(dir, ".json", &list, &n, &err), NGP_OK);
  assert_int_equal(n, 3);
  assert_string_equal(list[0], "a.json");
  assert_string_equal(list[1], "b2.json");
  assert_string_equal(list[2], "b10.json");
  ngp_free_strings(list, n);
  free(sub);
  free(dir);
}

static void mark(int i, int t, void *user) {
  (void)t;
  atomic_int *hits = user;
  atomic_fetch_add(&hits[i], 1);
}

static void test_parallel_for(void **state) {
  (void)state;
  enum { N = 1000 };
  static atomic_int hits[N];
  for (int threads = 1; threads <= 4; threads++) {
    for (int i = 0; i < N; i++)
      atomic_init(&hits[i], 0);
    ngp_parallel_for(N, threads, mark, hits);
    for (int i = 0; i < N; i++)
      assert_int_equal(atomic_load(&hits[i]), 1);
  }
  ngp_parallel_for(0, 2, mark, hits); /* nothing to do: no call */
  assert_true(ngp_cpu_count() >= 1);
}

/* The pool behind ngp_parallel_for: many jobs in a row with growing and shrinking thread counts,
 * thread indices within [0, n_threads), nested calls (fn calling ngp_parallel_for) and two threads
 * calling at once, each with its own pool, every item done exactly once. */
typedef struct {
  atomic_int hits[64];
  atomic_int bad_index;
  int n_threads;
} pool_job;

static void mark_checked(int i, int t, void *user) {
  pool_job *j = user;
  if (t < 0 || t >= j->n_threads) atomic_fetch_add(&j->bad_index, 1);
  atomic_fetch_add(&j->hits[i], 1);
}

static void nested(int i, int t, void *user) {
  (void)t;
  pool_job *jobs = user; /* jobs[0] counts the outer items, jobs[1 + i] is item i's inner job */
  atomic_fetch_add(&jobs[0].hits[i], 1);
  ngp_parallel_for(64, jobs[1 + i].n_threads, mark_checked, &jobs[1 + i]);
}

static bool all_once(pool_job *j, int n) {
  for (int i = 0; i < n; i++)
    if (atomic_load(&j->hits[i]) != 1) return false;
  return atomic_load(&j->bad_index) == 0;
}

static void *pool_caller(void *arg) {
  pool_job *j = arg;
  for (int round = 0; round < 200; round++) {
    memset(j, 0, sizeof *j);
    j->n_threads = 1 + round % 4;
    ngp_parallel_for(64, j->n_threads, mark_checked, j);
    if (!all_once(j, 64)) return (void *)1;
  }
  return NULL;
}

/* Records which thread ran thread index 1's items (they sleep, so index 1 always gets some), by its
 * kernel thread id, which Linux does not hand out again soon (pthread_t values are reused). */
static void record_worker(int i, int t, void *user) {
  (void)i;
  long *who = user;
  if (t == 1) who[0] = syscall(SYS_gettid);
  struct timespec ts = {0, 2000000};
  nanosleep(&ts, NULL);
}

static void test_parallel_pool(void **state) {
  (void)state;
  static pool_job j;
  const int counts[] = {2, 4, 3, 1, 4, 2, 8, 2};
  for (int round = 0; round < 400; round++) {
    memset(&j, 0, sizeof j);
    j.n_threads = counts[round % 8];
    ngp_parallel_for(64, j.n_threads, mark_checked, &j);
    assert_true(all_once(&j, 64));
  }
  static pool_job jobs[1 + 4];
  memset(jobs, 0, sizeof jobs);
  for (int i = 0; i < 5; i++)
    jobs[i].n_threads = 3;
  ngp_parallel_for(4, 2, nested, jobs);
  for (int i = 0; i < 4; i++)
    assert_int_equal(atomic_load(&jobs[0].hits[i]), 1);
  for (int i = 1; i < 5; i++)
    assert_true(all_once(&jobs[i], 64));
  /* Persistent: the second job runs on the thread the first one made. */
  long me = syscall(SYS_gettid), first = me, second = me;
  ngp_parallel_for(16, 2, record_worker, &first);
  ngp_parallel_for(16, 2, record_worker, &second);
  assert_true(first != me);
  assert_true(first == second);
  static pool_job a, b;
  pthread_t ta, tb;
  assert_int_equal(pthread_create(&ta, NULL, pool_caller, &a), 0);
  assert_int_equal(pthread_create(&tb, NULL, pool_caller, &b), 0);
  void *ra, *rb;
  pthread_join(ta, &ra);
  pthread_join(tb, &rb);
  assert_null(ra);
  assert_null(rb);
}

/* ngp_math.h: the NeRF -> ngp conversion against values worked out by hand (NGP-SPEC §1.4). */
static void test_nerf_to_ngp(void **state) {
  (void)state;
  /* Identity rotation at NeRF position (1, 2, 3), default scale and offset. Flipping camera y and
   * z gives columns (1,0,0), (0,-1,0), (0,0,-1); the position becomes (0.83, 1.16, 1.49); rows are
   * cycled so ngp row 0 = NeRF row 1, row 1 = NeRF row 2, row 2 = NeRF row 0. */
  const float nerf[12] = {1, 0, 0, 1, 0, 1, 0, 2, 0, 0, 1, 3};
  const float offset[3] = {0.5f, 0.5f, 0.5f};
  float ngp[12];
  ngp_nerf_matrix_to_ngp(nerf, 0.33f, offset, ngp);
  const float expect[12] = {0, -1, 0, 1.16f, 0, 0, -1, 1.49f, 1, 0, 0, 0.83f};
  for (int i = 0; i < 12; i++)
    assert_float_equal(ngp[i], expect[i], 1e-6);
  float back[12];
  ngp_ngp_matrix_to_nerf(ngp, 0.33f, offset, back);
  for (int i = 0; i < 12; i++)
    assert_float_equal(back[i], nerf[i], 1e-5);

  /* A rotation about NeRF z by 90 degrees and a per-axis offset (applied before the permutation). */
  const float rz[12] = {0, -1, 0, 0.5f, 1, 0, 0, -1, 0, 0, 1, 2};
  const float off2[3] = {0.1f, 0.2f, 0.3f};
  ngp_nerf_matrix_to_ngp(rz, 2.0f, off2, ngp);
  /* NeRF rows after flips: r0 = (0, 1, 0 | 0.5*2+0.1 = 1.1), r1 = (1, 0, 0 | -2+0.2 = -1.8),
   * r2 = (0, 0, -1 | 4+0.3 = 4.3); ngp = (r1, r2, r0). */
  const float expect2[12] = {1, 0, 0, -1.8f, 0, 0, -1, 4.3f, 0, 1, 0, 1.1f};
  for (int i = 0; i < 12; i++)
    assert_float_equal(ngp[i], expect2[i], 1e-5);

  float d[3] = {1, 2, 3}, dn[3];
  ngp_nerf_direction_to_ngp(d, dn);
  assert_true(dn[0] == 2 && dn[1] == 3 && dn[2] == 1);
}

static void test_math_misc(void **state) {
  (void)state;
  /* lego's camera_angle_x at 800 px gives the well-known focal of about 1111.11 px. */
  assert_float_equal(ngp_fov_to_focal(0.6911112070083618f, 800.0f), 1111.111f, 0.01);
  assert_float_equal(ngp_focal_to_fov(ngp_fov_to_focal(0.7f, 640.0f), 640.0f), 0.7f, 1e-6);
  assert_float_equal(ngp_srgb_to_linear(0.0f), 0.0f, 0);
  assert_float_equal(ngp_srgb_to_linear(1.0f), 1.0f, 1e-6);
  assert_float_equal(ngp_srgb_to_linear(0.5f), 0.21404f, 1e-4);
  for (float x = 0.0f; x <= 1.0f; x += 0.01f)
    assert_float_equal(ngp_linear_to_srgb(ngp_srgb_to_linear(x)), x, 1e-5);
  assert_true(ngp_is_pow2(1) && ngp_is_pow2(128) && !ngp_is_pow2(0) && !ngp_is_pow2(3) && !ngp_is_pow2(-4));
  assert_int_equal(ngp_ilog2(1), 0);
  assert_int_equal(ngp_ilog2(4), 2);
  assert_int_equal(ngp_ilog2(128), 7);
  const float m[9] = {2, 0, 0, 0, 3, 0, 0, 0, 4};
  assert_float_equal(ngp_det3(m, 3), 24.0f, 0);
}

static void test_error_helpers(void **state) {
  (void)state;
  ngp_error err;
  assert_int_equal(ngp_error_set(&err, NGP_ERR_IO, "%s: %d", "f", 3), NGP_ERR_IO);
  assert_string_equal(err.msg, "f: 3");
  ngp_error_prefix(&err, "ctx %d", 1);
  assert_string_equal(err.msg, "ctx 1: f: 3");
  assert_int_equal(ngp_error_set(NULL, NGP_ERR_INVALID, "x"), NGP_ERR_INVALID);
  char longmsg[3000];
  memset(longmsg, 'a', sizeof longmsg - 1);
  longmsg[sizeof longmsg - 1] = '\0';
  ngp_error_set(&err, NGP_ERR_IO, "%s", longmsg);
  ngp_error_prefix(&err, "p");
  assert_int_equal(strlen(err.msg), NGP_ERROR_MSG_MAX - 1);
  assert_true(strncmp(err.msg, "p: aaa", 6) == 0);
  ngp_test_log_begin();
  ngp_log(NGP_LOG_WARN, "w %d", 1);
  ngp_log(NGP_LOG_DEBUG, "dropped");
  ngp_test_log_end();
  assert_int_equal(ngp_test_log_count(), 1);
  assert_string_equal(ngp_test_log_text(), "w 1\n");
  assert_non_null(strchr(ngp_version(), '.'));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_natcmp),
      cmocka_unit_test(test_paths),
      cmocka_unit_test(test_json_parse_locations),
      cmocka_unit_test(test_json_getters),
      cmocka_unit_test(test_atomic_write),
      cmocka_unit_test(test_list_dir),
      cmocka_unit_test(test_parallel_for),
      cmocka_unit_test(test_parallel_pool),
      cmocka_unit_test(test_nerf_to_ngp),
      cmocka_unit_test(test_math_misc),
      cmocka_unit_test(test_error_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
