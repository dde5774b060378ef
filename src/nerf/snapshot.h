/* snapshot.h (internal): our own versioned snapshot format.
 *
 *   bytes 0..7   magic "NGPSNAP\0"
 *   u32          format version (NGP_SNAPSHOT_VERSION)
 *   u32          length of the header JSON, then the header JSON (config, layout, scene metadata)
 *   u64          number of parameters, then that many float32: the EMA (inference) weights,
 *                in the order [density MLP | colour MLP | hash grid]
 *   u32          occupancy cascades, then cascades*128^3 float32 densities (Morton order)
 *   u64          FNV-1a 64 checksum of every byte before it
 * Little-endian. Written to a temporary name and renamed, so an existing snapshot is never left
 * half-written. A snapshot renders without the scene's images. */
#ifndef NGP_NERF_SNAPSHOT_H
#define NGP_NERF_SNAPSHOT_H

#include "nerf/nerf.h"

#define NGP_SNAPSHOT_VERSION 1

/* Metadata saved beside the weights. */
typedef struct ngp_snapshot_meta {
  int training_step;
  float scale, offset[3];
  float loss;
} ngp_snapshot_meta;

ngp_status ngp_snapshot_save(const char *path, const ngp_nerf *n, const float *weights, const ngp_snapshot_meta *meta,
                             ngp_error *err);
/* Creates *n from a snapshot (weights into both params and inference). */
ngp_status ngp_snapshot_load(const char *path, ngp_nerf *n, ngp_snapshot_meta *meta, int n_threads, ngp_error *err);
/* FNV-1a 64 of n bytes: the checksum a snapshot ends with (over every byte before it). */
uint64_t ngp_snapshot_checksum(const uint8_t *p, size_t n);
/* True if the file starts with the snapshot magic. */
bool ngp_snapshot_is(const char *path);

#endif
