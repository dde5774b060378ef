/* fuzz_snapshot.c: libFuzzer target for the snapshot reader (ngp_snapshot_load; the format is in
 * src/nerf/snapshot.h).
 *
 * A snapshot ends with a checksum of everything before it, and holds 128^3 floats per occupancy
 * cascade (8 MiB); random mutations would never get past the checksum, and 8 MiB inputs would
 * crawl. So the first input byte chooses how the rest is used:
 *   bit 0 clear: the rest is the file as it is (magic, version, checksum and truncation paths);
 *   bit 0 set:   the rest is a snapshot without its checksum, which the target appends (header,
 *                config and layout paths, fast);
 *   bits 0 and 1 set: besides, when the rest ends right after the cascade count and that count
 *                is 1 or 2, the target appends a zero grid of that many cascades first (the full
 *                load: weights, grid, bitfield; about 30 runs a second, so only seeds with this
 *                bit reach it).
 * `ngp-snaptool fuzz-seed` turns a real snapshot into the last form (tests/fuzz/README.md).
 *
 * Oracle: a snapshot that loads has a power-of-two aabb_scale, the matching cascade count, and
 * finite weights. */
#include "fuzz_common.h"

#include <math.h>

#include "nerf/snapshot.h"

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The cascade count when body ends right after it (magic, version, header, weights, count). */
static uint32_t trailing_cascades(const uint8_t *body, size_t len) {
  if (len < 16) return 0;
  size_t at = 16 + (size_t)get_u32(body + 12);
  if (at > len || len - at < 8) return 0;
  uint64_t np = (uint64_t)get_u32(body + at) | (uint64_t)get_u32(body + at + 4) << 32;
  at += 8;
  if (np > (len - at) / 4) return 0;
  at += (size_t)np * 4;
  return len - at == 4 ? get_u32(body + at) : 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_dir("snapshot");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t *body = data + 1;
  size_t len = size - 1;
  uint8_t *file = NULL;
  size_t file_len = len;
  if (data[0] & 1) {
    uint32_t nc = (data[0] & 2) ? trailing_cascades(body, len) : 0;
    size_t grid = (nc == 1 || nc == 2) ? (size_t)nc * NGP_GRID_CELLS * sizeof(float) : 0;
    file_len = len + grid + 8;
    file = calloc(file_len, 1);
    FUZZ_CHECK(file != NULL);
    if (len) memcpy(file, body, len);
    uint64_t h = ngp_snapshot_checksum(file, len + grid);
    for (int i = 0; i < 8; i++)
      file[len + grid + (size_t)i] = (uint8_t)(h >> (8 * i));
  }
  char path[4200];
  fuzz_path(path, sizeof path, "model.ngp");
  fuzz_write(path, file ? file : body, file_len);
  free(file);

  ngp_nerf n;
  ngp_snapshot_meta meta;
  ngp_error err;
  if (ngp_snapshot_load(path, &n, &meta, 1, &err) != NGP_OK) {
    FUZZ_CHECK(err.msg[0] != '\0');
    return 0;
  }
  FUZZ_CHECK(n.aabb_scale >= 1 && n.aabb_scale <= 128 && (n.aabb_scale & (n.aabb_scale - 1)) == 0);
  FUZZ_CHECK(n.occ.n_cascades >= 1 && (1 << (n.occ.n_cascades - 1)) == n.aabb_scale);
  FUZZ_CHECK(n.n_params > 0 && isfinite(meta.scale) && meta.scale > 0.0f);
  for (size_t i = 0; i < n.n_params; i++)
    FUZZ_CHECK(isfinite(n.inference[i]));
  ngp_nerf_free(&n);
  return 0;
}
