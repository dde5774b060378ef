/* test_hostile.c: the file layer against hostile paths (issue 19): empty names, FIFOs, devices,
 * symlink loops and links planted at a save's temporary name; atomic saves that keep the mode of
 * the file they replace, clean up after killed saves and work for names near the length limit;
 * the output check run before any work. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fs.h"
#include "engine/backend.h"

/* ASan found ngp_mkdir_p("") reading past the string: an empty name is refused. */
static void test_mkdir_empty(void **state) {
  (void)state;
  ngp_error err;
  assert_int_equal(ngp_mkdir_p("", &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "empty path");
}

/* Not regular files: refused before opening (a FIFO would block the read forever), named. */
static void test_read_non_regular(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("hostile_read");
  char *fifo = ngp_test_path(dir, "pipe.json");
  unlink(fifo);
  assert_int_equal(mkfifo(fifo, 0644), 0);
  char *text = NULL;
  size_t len = 0;
  ngp_error err;
  assert_int_equal(ngp_read_file(fifo, 100, &text, &len, &err), NGP_ERR_IO);
  assert_contains(err.msg, "pipe.json: is a FIFO (named pipe), not a regular file");
  assert_int_equal(ngp_read_file("/dev/zero", 100, &text, &len, &err), NGP_ERR_IO);
  assert_contains(err.msg, "/dev/zero: is a character device");
  char *loop = ngp_test_path(dir, "loop.json");
  unlink(loop);
  assert_int_equal(symlink("loop.json", loop), 0);
  assert_int_equal(ngp_read_file(loop, 100, &text, &len, &err), NGP_ERR_IO);
  assert_contains(err.msg, "loop.json: cannot open: a symbolic link loop");
  assert_int_equal(ngp_read_file("", 100, &text, &len, &err), NGP_ERR_INVALID);
  assert_int_equal(ngp_fs_check_input(dir, true, &err), NGP_OK);
  assert_int_equal(ngp_fs_check_input(dir, false, &err), NGP_ERR_IO);
  assert_contains(err.msg, "is a directory, expected a file");
  assert_null(text);
  free(loop);
  free(fifo);
  free(dir);
}

static mode_t mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_mode & 07777;
}

static int count_temps(const char *dir, const char *base) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += ngp_fs_is_temp_of(e->d_name, base, NULL);
  closedir(d);
  return n;
}

/* A link planted at the old predictable temporary name (<path>.tmp.<pid>) is not followed: its
 * target is not truncated. */
static void test_atomic_no_follow(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("hostile_link");
  char *path = ngp_test_path(dir, "model.ngp");
  char *victim = ngp_test_path(dir, "victim.txt");
  ngp_test_write_text(victim, "precious");
  char planted[4200];
  snprintf(planted, sizeof planted, "%s.tmp.%ld", path, (long)getpid());
  unlink(planted);
  assert_int_equal(symlink(victim, planted), 0);
  ngp_error err;
  assert_int_equal(ngp_write_file_atomic(path, "new model", 9, &err), NGP_OK);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(ngp_read_file(victim, 100, &text, &len, &err), NGP_OK);
  assert_string_equal(text, "precious");
  free(text);
  assert_int_equal(ngp_read_file(path, 100, &text, &len, &err), NGP_OK);
  assert_string_equal(text, "new model");
  free(text);
  unlink(planted);
  free(victim);
  free(path);
  free(dir);
}

/* A replacement keeps the mode of the file it replaces; a new file honours the umask. */
static void test_atomic_mode(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("hostile_mode");
  char *path = ngp_test_path(dir, "secret.ngp");
  ngp_test_write_text(path, "old");
  assert_int_equal(chmod(path, 0600), 0);
  ngp_error err;
  assert_int_equal(ngp_write_file_atomic(path, "new", 3, &err), NGP_OK);
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(chmod(path, 0640), 0);
  assert_int_equal(ngp_write_file_atomic(path, "newer", 5, &err), NGP_OK);
  assert_int_equal(mode_of(path), 0640);
  char *fresh = ngp_test_path(dir, "fresh.ngp");
  unlink(fresh);
  mode_t old = umask(027);
  assert_int_equal(ngp_write_file_atomic(fresh, "x", 1, &err), NGP_OK);
  umask(old);
  assert_int_equal(mode_of(fresh), 0640);
  free(fresh);
  free(path);
  free(dir);
}

/* A killed save's temporary (its process gone) is removed by the next save to the same path;
 * a live process's temporary and other files are left alone. */
static void test_atomic_stale(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("hostile_stale");
  char *path = ngp_test_path(dir, "model.ngp");
  pid_t child = fork();
  if (child == 0) _exit(0);
  assert_true(child > 0);
  waitpid(child, NULL, 0); /* a pid that is surely gone now */
  char stale[4200], live[4200], other[4200];
  snprintf(stale, sizeof stale, "%s/.model.ngp.tmp.%ld.AbC123", dir, (long)child);
  snprintf(live, sizeof live, "%s/.model.ngp.tmp.%ld.XyZ789", dir, (long)getppid());
  snprintf(other, sizeof other, "%s/.other.ngp.tmp.%ld.AbC123", dir, (long)child);
  ngp_test_write_text(stale, "half a snapshot");
  ngp_test_write_text(live, "being written");
  ngp_test_write_text(other, "not ours to judge");
  assert_int_equal(count_temps(dir, "model.ngp"), 2);
  ngp_error err;
  assert_int_equal(ngp_write_file_atomic(path, "model", 5, &err), NGP_OK);
  assert_false(ngp_path_exists(stale));
  assert_true(ngp_path_exists(live));
  assert_true(ngp_path_exists(other));
  assert_int_equal(count_temps(dir, "model.ngp"), 1);
  unlink(live);
  unlink(other);
  free(path);
  free(dir);
}

/* A legal name of 250 bytes saves: the temporary's suffix must not push it past NAME_MAX. */
static void test_atomic_long_name(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("hostile_long");
  char name[251];
  memset(name, 'n', 246);
  memcpy(name + 246, ".ngp", 5);
  char *path = ngp_test_path(dir, name);
  ngp_error err;
  assert_int_equal(ngp_write_file_atomic(path, "long", 4, &err), NGP_OK);
  assert_int_equal(ngp_write_file_atomic(path, "longer", 6, &err), NGP_OK);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(ngp_read_file(path, 100, &text, &len, &err), NGP_OK);
  assert_string_equal(text, "longer");
  free(text);
  assert_int_equal(count_temps(dir, name), 0);
  free(path);
  free(dir);
}

/* The output check: bad names are NGP_ERR_INVALID (exit 2), places that cannot be written
 * NGP_ERR_IO with the reason; nothing is created. */
static void test_check_output(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("hostile_out");
  ngp_error err;
  assert_int_equal(ngp_fs_check_output("--save-snapshot", "", NGP_OUTPUT_FILE, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "--save-snapshot: an empty name");
  char *slash = ngp_test_path(dir, "sub/");
  assert_int_equal(ngp_fs_check_output("--save-snapshot", slash, NGP_OUTPUT_FILE, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "ends in '/'");
  char *file = ngp_test_path(dir, "plain.txt");
  ngp_test_write_text(file, "x");
  char *under_file = ngp_test_path(dir, "plain.txt/deeper/model.ngp");
  assert_int_equal(ngp_fs_check_output("--save-snapshot", under_file, NGP_OUTPUT_FILE, &err), NGP_ERR_IO);
  assert_contains(err.msg, "plain.txt is a regular file, not a folder");
  assert_int_equal(ngp_fs_check_output("--screenshot-dir", file, NGP_OUTPUT_DIR, &err), NGP_ERR_IO);
  assert_contains(err.msg, "plain.txt: is a regular file, not a folder");
  assert_int_equal(ngp_fs_check_output("--save-snapshot", dir, NGP_OUTPUT_FILE, &err), NGP_ERR_IO);
  assert_contains(err.msg, "is a directory; give the name of a regular file");
  char *fifo = ngp_test_path(dir, "pipe.ngp");
  unlink(fifo);
  assert_int_equal(mkfifo(fifo, 0644), 0);
  assert_int_equal(ngp_fs_check_output("--save-snapshot", fifo, NGP_OUTPUT_FILE, &err), NGP_ERR_IO);
  assert_contains(err.msg, "is a FIFO (named pipe)");
  char *nested = ngp_test_path(dir, "a/b/c/model.ngp");
  assert_int_equal(ngp_fs_check_output("--save-snapshot", nested, NGP_OUTPUT_FILE, &err), NGP_OK);
  char *a = ngp_test_path(dir, "a");
  assert_false(ngp_path_exists(a)); /* checked, not created */
  assert_int_equal(ngp_fs_check_output("--screenshot-dir", "/proc/self/ngp-shots", NGP_OUTPUT_DIR, &err), NGP_ERR_IO);
  assert_contains(err.msg, "cannot write in the folder /proc/self");
  char longname[300];
  memset(longname, 'x', 299);
  longname[299] = '\0';
  assert_int_equal(ngp_fs_check_output("--save-snapshot", longname, NGP_OUTPUT_FILE, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "more than 255");
  free(a);
  free(nested);
  free(fifo);
  free(under_file);
  free(file);
  free(slash);
  free(dir);
}

/* A CPU run chosen by auto prints one short clause, not the driver diagnosis with its fix. */
static void test_backend_short_reason(void **state) {
  (void)state;
  char out[256];
  ngp_backend_short_reason("no NVIDIA driver: libcuda.so.1 was not found (libcuda.so.1: cannot open shared object "
                           "file). Fix: on NixOS enable hardware.graphics (or hardware.opengl) ...",
                           out, sizeof out);
  assert_string_equal(out, "no NVIDIA driver; instant-ngp doctor says why");
  ngp_backend_short_reason("the NVIDIA driver 550.54 (CUDA 12.4) sees no CUDA device. Fix: check nvidia-smi", out,
                           sizeof out);
  assert_string_equal(out, "the NVIDIA driver 550.54 (CUDA 12.4) sees no CUDA device; instant-ngp doctor says why");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mkdir_empty),      cmocka_unit_test(test_read_non_regular),
      cmocka_unit_test(test_atomic_no_follow), cmocka_unit_test(test_atomic_mode),
      cmocka_unit_test(test_atomic_stale),     cmocka_unit_test(test_atomic_long_name),
      cmocka_unit_test(test_check_output),     cmocka_unit_test(test_backend_short_reason),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
