/* test_cuda_select.c (label unit: runs with or without a GPU): what the application's
 * `--backend auto` relies on. The build's runtime version and architectures are reported; device
 * selection either finds a device or says in one line why not, naming the fix; the architecture
 * check agrees with the list; and trainer creation without a device fails with the same reason
 * instead of crashing. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "cuda/ngp_cuda.h"

static void test_versions_and_architectures(void **state) {
  (void)state;
  assert_true(ngp_cuda_runtime_version() >= 11000);
  const char *archs = ngp_cuda_architectures();
  print_message("runtime %d, driver %d, architectures %s\n", ngp_cuda_runtime_version(), ngp_cuda_driver_version(),
                archs);
  assert_true(archs[0] != '\0' && strcmp(archs, "unknown") != 0);
  /* Every listed architecture is supported; compute capability 6.0 never is (tensor cores). */
  char buf[256];
  snprintf(buf, sizeof buf, "%s", archs);
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    int a = atoi(tok);
    if (a > 0 && !strstr(tok, "-virtual")) assert_true(ngp_cuda_arch_supported(a / 10, a % 10));
  }
  assert_false(ngp_cuda_arch_supported(6, 0));
}

static void test_select_device(void **state) {
  (void)state;
  int dev = -1;
  char why[1024];
  ngp_status st = ngp_cuda_select_device(&dev, why, sizeof why);
  if (st == NGP_OK) {
    char desc[512];
    ngp_cuda_device_describe(desc, sizeof desc);
    print_message("selected %s\n", desc);
    assert_true(dev >= 0);
    /* Asking for a device that does not exist is an error naming it. */
    int bad = 1000;
    assert_int_equal(ngp_cuda_select_device(&bad, why, sizeof why), NGP_ERR_UNSUPPORTED);
    assert_contains(why, "1000");
    return;
  }
  print_message("no device: %s\n", why);
  assert_int_equal(st, NGP_ERR_UNSUPPORTED);
  assert_true(strlen(why) > 20);
  assert_null(strchr(why, '\n'));        /* one line */
  assert_contains(why, "--backend cpu"); /* and the fix */
  if (ngp_cuda_driver_version() == 0) {
    /* No driver: say what was looked for and where. */
    assert_contains(why, "libcuda.so.1");
    assert_contains(why, "LD_LIBRARY_PATH");
    assert_contains(why, "/run/opengl-driver/lib");
  }
  /* A truncated buffer still gets a terminated line. */
  char small[16];
  assert_int_equal(ngp_cuda_select_device(&dev, small, sizeof small), NGP_ERR_UNSUPPORTED);
  assert_true(strlen(small) < sizeof small);
}

static void test_trainer_without_device(void **state) {
  (void)state;
  int dev = -1;
  char why[1024];
  if (ngp_cuda_select_device(&dev, why, sizeof why) == NGP_OK) skip();
  ngp_scene scene;
  memset(&scene, 0, sizeof scene);
  scene.images_loaded = true;
  scene.n_frames = 1;
  ngp_nerf n;
  memset(&n, 0, sizeof n);
  ngp_train_opts o;
  ngp_train_opts_default(&o);
  ngp_cuda_trainer *t = (ngp_cuda_trainer *)&dev; /* overwritten with NULL */
  ngp_error err;
  assert_int_equal(ngp_cuda_trainer_create(&t, &n, &scene, &o, &err), NGP_ERR_UNSUPPORTED);
  assert_null(t);
  assert_string_equal(err.msg, why);
  /* The backend: not available, says the same, and cannot be created. */
  char why2[1024];
  assert_false(ngp_backend_cuda_type.available(why2, sizeof why2));
  assert_string_equal(why2, why);
  const ngp_backend_type *type;
  assert_int_equal(ngp_backend_choose("cuda", &type, why2, sizeof why2), NGP_ERR_UNSUPPORTED);
  assert_string_equal(why2, why);
  ngp_backend_opts bo;
  ngp_backend_opts_default(&bo);
  ngp_backend *b = NULL;
  assert_int_equal(ngp_backend_create(&ngp_backend_cuda_type, &n, NULL, &bo, &b, &err), NGP_ERR_UNSUPPORTED);
  assert_null(b);
  assert_string_equal(err.msg, why);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_versions_and_architectures),
      cmocka_unit_test(test_select_device),
      cmocka_unit_test(test_trainer_without_device),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
