/* config_internal.h (internal to src/config/): a config's JSON tree after its "parent" chain has
 * been merged, remembering which file each value came from.
 *
 * Why provenance: after merging, a bad value may sit in any file of the chain (small.json over
 * base.json); the message must name the file that holds it, not the leaf the user passed.
 * Every node of every parsed file is marked with its file's index; merging moves nodes (never
 * copies them) and parks replaced ones in a graveyard until the tree is freed, so a node address
 * is never reused while the marks are alive. */
#ifndef NGP_CONFIG_INTERNAL_H
#define NGP_CONFIG_INTERNAL_H

#include <cjson/cJSON.h>

#include "ngp/common.h"

/* The longest parent chain, counting the file passed to ngp_config_load. */
#define NGP_CONFIG_MAX_CHAIN 16

typedef struct ngp_config_mark {
  const cJSON *node;
  int file; /* index into ngp_config_tree.files */
} ngp_config_mark;

typedef struct ngp_config_tree {
  cJSON *root;  /* the merged config, always an object */
  char **files; /* files[0] is the leaf as given, files[k] its k-th ancestor */
  int n_files;
  ngp_config_mark *marks;
  size_t n_marks, cap_marks;
  cJSON *graveyard; /* detached nodes and emptied per-file trees, freed with the tree */
} ngp_config_tree;

/* Loads `path` and its "parent" chain and merges them (RFC 7386, child over parent). */
ngp_status ngp_config_tree_load(const char *path, ngp_config_tree *t, ngp_error *err);
/* One file's text, no parent resolution; every value is attributed to `name`. */
ngp_status ngp_config_tree_parse(const char *text, size_t len, const char *name, ngp_config_tree *t, ngp_error *err);
/* The file a node came from (files[0] for nodes created by no file). */
const char *ngp_config_tree_file(const ngp_config_tree *t, const cJSON *node);
void ngp_config_tree_free(ngp_config_tree *t);

#endif
