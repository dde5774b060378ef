/* config_merge.c: loading a config file with its "parent" chain and merging the chain with JSON
 * merge-patch (RFC 7386), as instant-ngp does (child over parent, recursively; a null in the
 * child removes the key). Each value keeps the name of the file it came from, see
 * config_internal.h. POSIX + XSI (realpath) to detect cycles. */
#define _XOPEN_SOURCE 700 /* realpath is XSI in glibc */
#include "config/config_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/json_util.h"

static ngp_status nomem(ngp_error *err, const char *file) {
  return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory while reading the config", file);
}

static bool mark_add(ngp_config_tree *t, const cJSON *node, int file) {
  if (t->n_marks == t->cap_marks) {
    size_t cap = t->cap_marks ? 2 * t->cap_marks : 64;
    ngp_config_mark *grown = realloc(t->marks, cap * sizeof *grown);
    if (!grown) return false;
    t->marks = grown;
    t->cap_marks = cap;
  }
  t->marks[t->n_marks].node = node;
  t->marks[t->n_marks].file = file;
  t->n_marks++;
  return true;
}

/* Marks a node and everything below it as coming from `file`. */
static bool mark_tree(ngp_config_tree *t, const cJSON *node, int file) {
  if (!mark_add(t, node, file)) return false;
  for (const cJSON *c = node->child; c; c = c->next)
    if (!mark_tree(t, c, file)) return false;
  return true;
}

const char *ngp_config_tree_file(const ngp_config_tree *t, const cJSON *node) {
  /* Later marks win: a fresh object created while merging is marked after the file's own nodes.
   * Trees hold a few hundred nodes, so a linear scan is plenty. */
  if (node)
    for (size_t i = t->n_marks; i-- > 0;)
      if (t->marks[i].node == node) return t->files[t->marks[i].file];
  return t->files[0];
}

static void bury(ngp_config_tree *t, cJSON *node) { cJSON_AddItemToArray(t->graveyard, node); }

/* RFC 7386 MergePatch(target, patch) for two objects: members of `patch` are moved into
 * `target`; nested objects merge recursively; a null removes the key; anything else (arrays
 * included) replaces the target's value wholesale. `patch` is left partly emptied. */
static bool merge_patch(ngp_config_tree *t, cJSON *target, cJSON *patch, int patch_file) {
  cJSON *m = patch->child;
  while (m) {
    cJSON *next = m->next;
    cJSON *existing = cJSON_GetObjectItemCaseSensitive(target, m->string);
    if (cJSON_IsNull(m)) {
      if (existing) bury(t, cJSON_DetachItemViaPointer(target, existing));
    } else if (cJSON_IsObject(m)) {
      if (existing && cJSON_IsObject(existing)) {
        if (!merge_patch(t, existing, m, patch_file)) return false;
      } else {
        /* MergePatch({}, m): a fresh object, so that nulls inside m are dropped as well. */
        cJSON *fresh = cJSON_CreateObject();
        if (!fresh || !mark_add(t, fresh, patch_file)) {
          cJSON_Delete(fresh);
          return false;
        }
        if (existing) bury(t, cJSON_DetachItemViaPointer(target, existing));
        if (!cJSON_AddItemToObject(target, m->string, fresh)) {
          cJSON_Delete(fresh);
          return false;
        }
        if (!merge_patch(t, fresh, m, patch_file)) return false;
      }
    } else {
      if (existing) bury(t, cJSON_DetachItemViaPointer(target, existing));
      cJSON_DetachItemViaPointer(patch, m);
      if (!cJSON_AddItemToObject(target, m->string, m)) {
        cJSON_Delete(m);
        return false;
      }
    }
    m = next;
  }
  return true;
}

static ngp_status tree_init(ngp_config_tree *t, const char *first_file, ngp_error *err) {
  memset(t, 0, sizeof *t);
  t->graveyard = cJSON_CreateArray();
  t->files = calloc(NGP_CONFIG_MAX_CHAIN, sizeof *t->files);
  if (!t->graveyard || !t->files || !(t->files[0] = ngp_strdup(first_file))) {
    ngp_config_tree_free(t);
    return nomem(err, first_file);
  }
  t->n_files = 1;
  return NGP_OK;
}

/* Parses one file's JSON and checks that it is an object (a network config). */
static ngp_status parse_object(const char *text, size_t len, const char *name, cJSON **out, ngp_error *err) {
  ngp_status st = ngp_json_parse(text, len, name, out, err);
  if (st != NGP_OK) return st;
  if (!cJSON_IsObject(*out)) {
    ngp_error_set(err, NGP_ERR_INVALID, "%s: expected a JSON object at the top level (a network config), found %s",
                  name, ngp_json_type_name(*out));
    cJSON_Delete(*out);
    *out = NULL;
    return NGP_ERR_INVALID;
  }
  return NGP_OK;
}

ngp_status ngp_config_tree_parse(const char *text, size_t len, const char *name, ngp_config_tree *t, ngp_error *err) {
  ngp_status st = tree_init(t, name, err);
  if (st != NGP_OK) return st;
  st = parse_object(text, len, name, &t->root, err);
  if (st != NGP_OK) ngp_config_tree_free(t);
  return st;
}

/* Reads the "parent" member of a file's tree: NULL when absent (or null). */
static ngp_status parent_of(const cJSON *root, const char *file, const char **parent, ngp_error *err) {
  *parent = NULL;
  return ngp_json_get_string(root, "parent", file, "", parent, NULL, err);
}

ngp_status ngp_config_tree_load(const char *path, ngp_config_tree *t, ngp_error *err) {
  ngp_status st = tree_init(t, path, err);
  if (st != NGP_OK) return st;
  cJSON *trees[NGP_CONFIG_MAX_CHAIN] = {0};
  char *real[NGP_CONFIG_MAX_CHAIN] = {0};
  int n = 0;

  /* Walk up the chain: trees[0] is the leaf, trees[k] its k-th ancestor. */
  for (;;) {
    const char *file = t->files[n];
    real[n] = realpath(file, NULL);
    cJSON *tree = NULL;
    st = ngp_json_load_file(file, &tree, err);
    if (st == NGP_OK && !cJSON_IsObject(tree)) {
      st = ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: expected a JSON object at the top level (a network config), found %s", file,
                         ngp_json_type_name(tree));
      cJSON_Delete(tree);
      tree = NULL;
    }
    if (st != NGP_OK && n > 0) { /* say which config named this parent */
      char why[NGP_ERROR_MSG_MAX];
      snprintf(why, sizeof why, "%s", err->msg);
      ngp_error_set(err, st, "%s: parent: %s", t->files[n - 1], why);
    }
    if (st != NGP_OK) goto fail;
    trees[n++] = tree;
    if (!mark_tree(t, tree, n - 1)) {
      st = nomem(err, file);
      goto fail;
    }

    const char *parent = NULL;
    if ((st = parent_of(tree, file, &parent, err)) != NGP_OK) goto fail;
    if (!parent) break;
    if (!parent[0]) {
      st = ngp_error_set(err, NGP_ERR_INVALID, "%s: parent: empty file name; name a config file or remove the key",
                         file);
      goto fail;
    }
    /* Relative to the folder of the file that names it, as instant-ngp resolves it. */
    char *dir = ngp_path_dirname(file);
    char *ppath = dir ? ngp_path_join(dir, parent) : NULL;
    free(dir);
    if (!ppath) {
      st = nomem(err, file);
      goto fail;
    }
    if (n == NGP_CONFIG_MAX_CHAIN) {
      st = ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: parent: the chain of parent configs is longer than %d files (next would be %s); "
                         "shorten the chain",
                         path, NGP_CONFIG_MAX_CHAIN, ppath);
      free(ppath);
      goto fail;
    }
    t->files[n] = ppath;
    t->n_files = n + 1;
    char *preal = realpath(ppath, NULL);
    if (!preal) {
      int e = errno;
      st = ngp_error_set(err, NGP_ERR_IO,
                         "%s: parent: cannot open %s: %s (parent paths are relative to the folder of %s)", file, ppath,
                         strerror(e), file);
      goto fail;
    }
    for (int i = 0; i < n; i++) {
      if (real[i] && strcmp(real[i], preal) == 0) {
        st = ngp_error_set(err, NGP_ERR_INVALID,
                           "%s: parent: %s is already in the chain of parents of %s (a cycle); remove one of the "
                           "\"parent\" keys",
                           file, ppath, path);
        free(preal);
        goto fail;
      }
    }
    free(preal);
  }

  /* Merge from the oldest ancestor down to the leaf. */
  t->root = trees[n - 1];
  trees[n - 1] = NULL;
  for (int i = n - 2; i >= 0; i--) {
    if (!merge_patch(t, t->root, trees[i], i)) {
      st = nomem(err, path);
      goto fail;
    }
    bury(t, trees[i]);
    trees[i] = NULL;
  }
  for (int i = 0; i < n; i++)
    free(real[i]);
  return NGP_OK;

fail:
  for (int i = 0; i < NGP_CONFIG_MAX_CHAIN; i++) {
    cJSON_Delete(trees[i]);
    free(real[i]);
  }
  ngp_config_tree_free(t);
  return st;
}

void ngp_config_tree_free(ngp_config_tree *t) {
  if (!t) return;
  cJSON_Delete(t->root);
  cJSON_Delete(t->graveyard);
  if (t->files)
    for (int i = 0; i < NGP_CONFIG_MAX_CHAIN; i++)
      free(t->files[i]);
  free(t->files);
  free(t->marks);
  memset(t, 0, sizeof *t);
}
