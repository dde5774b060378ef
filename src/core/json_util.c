/* json_util.c: JSON parsing with comments and precise error locations, and typed getters. */
#include "core/json_util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"

/* Replaces comments by spaces (keeping newlines) so that cJSON's error offsets still map to the
 * user's lines and columns. Strings are copied verbatim, escapes included. */
static void blank_comments(char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (s[i] == '"') {
      for (i++; i < n && s[i] != '"'; i++)
        if (s[i] == '\\' && i + 1 < n) i++;
      i++;
    } else if (s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n')
        s[i++] = ' ';
    } else if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
      s[i] = s[i + 1] = ' ';
      for (i += 2; i < n && !(s[i] == '*' && i + 1 < n && s[i + 1] == '/'); i++)
        if (s[i] != '\n') s[i] = ' ';
      if (i < n) s[i++] = ' ';
      if (i < n) s[i++] = ' ';
    } else {
      i++;
    }
  }
}

/* The deepest nesting of arrays and objects in the text (strings skipped), and where it first
 * goes past `limit`: cJSON refuses deeper text with no reason, so the limit is said instead. */
static size_t nesting_past(const char *s, size_t n, int limit) {
  int depth = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '"') {
      for (i++; i < n && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return n;
}

static int cmp_key(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* A key that appears twice in one object: cJSON would keep the first, instant-ngp's JSON library
 * the last; neither silently. Writes the object's path into `where`. Returns the key or NULL. */
static const char *duplicate_key(const cJSON *node, char *where, size_t n, bool *nomem) {
  if (cJSON_IsObject(node)) {
    int k = 0;
    for (const cJSON *c = node->child; c; c = c->next)
      k++;
    if (k > 1) {
      const char **keys = malloc((size_t)k * sizeof *keys);
      if (!keys) {
        *nomem = true;
        return NULL;
      }
      int i = 0;
      for (const cJSON *c = node->child; c; c = c->next)
        keys[i++] = c->string ? c->string : "";
      qsort(keys, (size_t)k, sizeof *keys, cmp_key);
      const char *dup = NULL;
      for (i = 1; i < k && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
      free(keys);
      if (dup) return dup;
    }
  }
  if (!cJSON_IsObject(node) && !cJSON_IsArray(node)) return NULL;
  size_t used = strlen(where);
  int index = 0;
  for (const cJSON *c = node->child; c; c = c->next, index++) {
    if (!cJSON_IsObject(c) && !cJSON_IsArray(c)) continue;
    if (cJSON_IsArray(node))
      snprintf(where + used, n - used, "[%d]", index);
    else
      snprintf(where + used, n - used, "%s%s", used ? "." : "", c->string ? c->string : "");
    const char *dup = duplicate_key(c, where, n, nomem);
    if (dup || *nomem) return dup;
    where[used] = '\0';
  }
  return NULL;
}

ngp_status ngp_json_parse(const char *text, size_t len, const char *name, cJSON **out, ngp_error *err) {
  *out = NULL;
  char *buf = malloc(len + 1);
  if (!buf) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", name);
  memcpy(buf, text, len);
  buf[len] = '\0';
  if (memchr(buf, '\0', len)) len = strlen(buf); /* an embedded NUL ends the text: it is not JSON past that point */
  blank_comments(buf, len);
  size_t deep = nesting_past(buf, len, CJSON_NESTING_LIMIT);
  if (deep < len) {
    int line = 1;
    for (size_t i = 0; i < deep; i++)
      line += buf[i] == '\n';
    free(buf);
    return ngp_error_set(err, NGP_ERR_PARSE,
                         "%s:%d: the JSON nests arrays and objects more than %d levels deep, the most this reader "
                         "takes; no scene or config needs that many",
                         name, line, CJSON_NESTING_LIMIT);
  }
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
  if (root) {
    /* Only whitespace may follow the value. */
    const char *p = end;
    while (p < buf + len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
      p++;
    if (p < buf + len) {
      cJSON_Delete(root);
      root = NULL;
      end = p;
    }
  } else {
    end = cJSON_GetErrorPtr();
    if (!end || end < buf || end > buf + len) end = buf + len;
  }
  if (!root) {
    int line = 1, col = 1;
    for (const char *p = buf; p < end; p++) {
      if (*p == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    /* Quote a short excerpt only of text that began as JSON: a file that is no JSON at all (a
     * parent config pointing at /etc/passwd) is not shown, only said to be something else. */
    const char *first = buf;
    while (first < buf + len && (*first == ' ' || *first == '\t' || *first == '\n' || *first == '\r'))
      first++;
    bool json_like = first < buf + len && (*first == '{' || *first == '[');
    char near[17] = {0};
    size_t k = 0;
    for (const char *p = end; p < buf + len && k < sizeof near - 1 && *p != '\n'; p++)
      near[k++] = (*p >= 32 && *p < 127) ? *p : '?';
    if (first < buf + len && !json_like)
      ngp_error_set(err, NGP_ERR_PARSE, "%s: not JSON: it does not begin with '{' or '['; is this the right file?",
                    name);
    else if (len == 0 || end >= buf + len)
      ngp_error_set(err, NGP_ERR_PARSE, "%s:%d:%d: malformed JSON: unexpected end of file", name, line, col);
    else if (k == 0)
      ngp_error_set(err, NGP_ERR_PARSE, "%s:%d:%d: malformed JSON at the end of the line", name, line, col);
    else
      ngp_error_set(err, NGP_ERR_PARSE, "%s:%d:%d: malformed JSON near '%s'", name, line, col, near);
    free(buf);
    return NGP_ERR_PARSE;
  }
  free(buf);
  char where[256] = "";
  bool nomem = false;
  const char *dup = duplicate_key(root, where, sizeof where, &nomem);
  if (dup || nomem) {
    if (nomem)
      ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory checking the JSON", name);
    else
      ngp_error_set(err, NGP_ERR_INVALID,
                    "%s: %s%s\"%.64s\" appears twice in one object; keep one (instant-ngp would take the last, "
                    "silently)",
                    name, where, where[0] ? ": key " : "key ", dup);
    cJSON_Delete(root);
    return nomem ? NGP_ERR_NOMEM : NGP_ERR_INVALID;
  }
  *out = root;
  return NGP_OK;
}

ngp_status ngp_json_load_file(const char *path, cJSON **out, ngp_error *err) {
  char *text = NULL;
  size_t len = 0;
  ngp_status st = ngp_read_file(path, NGP_JSON_MAX_BYTES, &text, &len, err);
  if (st != NGP_OK) return st;
  st = ngp_json_parse(text, len, path, out, err);
  free(text);
  return st;
}

const char *ngp_json_field(char *buf, size_t size, const char *ctx, const char *key) {
  if (ctx && ctx[0])
    snprintf(buf, size, "%s.%s", ctx, key);
  else
    snprintf(buf, size, "%s", key);
  return buf;
}

const char *ngp_json_type_name(const cJSON *item) {
  if (!item) return "missing";
  if (cJSON_IsNull(item)) return "null";
  if (cJSON_IsBool(item)) return "a boolean";
  if (cJSON_IsNumber(item)) return "a number";
  if (cJSON_IsString(item)) return "a string";
  if (cJSON_IsArray(item)) return "an array";
  if (cJSON_IsObject(item)) return "an object";
  return "an unknown value";
}

/* Looks a key up; NULL for absent or null. */
static const cJSON *member(const cJSON *obj, const char *key) {
  const cJSON *it = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
  return (it && !cJSON_IsNull(it)) ? it : NULL;
}

#define FIELD(buf, ctx, key) ngp_json_field(buf, sizeof buf, ctx, key)

static ngp_status wrong_type(const cJSON *it, const char *key, const char *file, const char *ctx, const char *expected,
                             ngp_error *err) {
  char f[256];
  return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: expected %s, found %s", file, FIELD(f, ctx, key), expected,
                       ngp_json_type_name(it));
}

ngp_status ngp_json_get_double(const cJSON *obj, const char *key, const char *file, const char *ctx, double *out,
                               bool *present, ngp_error *err) {
  const cJSON *it = member(obj, key);
  if (present) *present = it != NULL;
  if (!it) return NGP_OK;
  if (!cJSON_IsNumber(it)) return wrong_type(it, key, file, ctx, "a number", err);
  if (!isfinite(it->valuedouble)) {
    char f[256];
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: the number is not finite", file, FIELD(f, ctx, key));
  }
  *out = it->valuedouble;
  return NGP_OK;
}

ngp_status ngp_json_get_float(const cJSON *obj, const char *key, const char *file, const char *ctx, float *out,
                              bool *present, ngp_error *err) {
  double d = 0.0;
  bool have = false;
  ngp_status st = ngp_json_get_double(obj, key, file, ctx, &d, &have, err);
  if (present) *present = have;
  if (st != NGP_OK || !have) return st;
  if (fabs(d) > (double)FLT_MAX) {
    char f[256];
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: %g is out of range", file, FIELD(f, ctx, key), d);
  }
  *out = (float)d;
  return NGP_OK;
}

ngp_status ngp_json_get_int(const cJSON *obj, const char *key, const char *file, const char *ctx, long lo, long hi,
                            int *out, bool *present, ngp_error *err) {
  const cJSON *it = member(obj, key);
  if (present) *present = it != NULL;
  if (!it) return NGP_OK;
  char f[256];
  if (!cJSON_IsNumber(it)) return wrong_type(it, key, file, ctx, "an integer", err);
  double d = it->valuedouble;
  if (!isfinite(d) || d != floor(d))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: expected an integer, found %g", file, FIELD(f, ctx, key), d);
  if (d < (double)lo || d > (double)hi)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: %.0f is out of range [%ld, %ld]", file, FIELD(f, ctx, key), d,
                         lo, hi);
  *out = (int)d;
  return NGP_OK;
}

ngp_status ngp_json_get_bool(const cJSON *obj, const char *key, const char *file, const char *ctx, bool *out,
                             bool *present, ngp_error *err) {
  const cJSON *it = member(obj, key);
  if (present) *present = it != NULL;
  if (!it) return NGP_OK;
  if (!cJSON_IsBool(it)) return wrong_type(it, key, file, ctx, "true or false", err);
  *out = cJSON_IsTrue(it);
  return NGP_OK;
}

ngp_status ngp_json_get_string(const cJSON *obj, const char *key, const char *file, const char *ctx, const char **out,
                               bool *present, ngp_error *err) {
  const cJSON *it = member(obj, key);
  if (present) *present = it != NULL;
  if (!it) return NGP_OK;
  if (!cJSON_IsString(it) || !it->valuestring) return wrong_type(it, key, file, ctx, "a string", err);
  *out = it->valuestring;
  return NGP_OK;
}

ngp_status ngp_json_get_object(const cJSON *obj, const char *key, const char *file, const char *ctx, const cJSON **out,
                               ngp_error *err) {
  const cJSON *it = member(obj, key);
  *out = NULL;
  if (!it) return NGP_OK;
  if (!cJSON_IsObject(it)) return wrong_type(it, key, file, ctx, "an object", err);
  *out = it;
  return NGP_OK;
}

ngp_status ngp_json_get_array(const cJSON *obj, const char *key, const char *file, const char *ctx, const cJSON **out,
                              ngp_error *err) {
  const cJSON *it = member(obj, key);
  *out = NULL;
  if (!it) return NGP_OK;
  if (!cJSON_IsArray(it)) return wrong_type(it, key, file, ctx, "an array", err);
  *out = it;
  return NGP_OK;
}

/* Reads n finite numbers from an array item into out. */
static ngp_status read_numbers(const cJSON *arr, int n, const char *file, const char *field, const char *what,
                               float *out, ngp_error *err) {
  if (!cJSON_IsArray(arr))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: expected %s, found %s", file, field, what,
                         ngp_json_type_name(arr));
  int count = cJSON_GetArraySize(arr);
  if (count != n)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: expected %s, found %d element%s", file, field, what, count,
                         count == 1 ? "" : "s");
  int i = 0;
  const cJSON *el;
  cJSON_ArrayForEach(el, arr) {
    if (!cJSON_IsNumber(el))
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s[%d]: expected a number, found %s", file, field, i,
                           ngp_json_type_name(el));
    if (!isfinite(el->valuedouble) || fabs(el->valuedouble) > (double)FLT_MAX)
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s[%d]: the number is not finite", file, field, i);
    out[i++] = (float)el->valuedouble;
  }
  return NGP_OK;
}

ngp_status ngp_json_get_vec(const cJSON *obj, const char *key, const char *file, const char *ctx, int n, float *out,
                            bool *present, ngp_error *err) {
  const cJSON *it = member(obj, key);
  if (present) *present = it != NULL;
  if (!it) return NGP_OK;
  char f[256], what[64];
  snprintf(what, sizeof what, "an array of %d numbers", n);
  float tmp[16];
  if (n > 16) return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: vector too long", file, FIELD(f, ctx, key));
  ngp_status st = read_numbers(it, n, file, FIELD(f, ctx, key), what, tmp, err);
  if (st == NGP_OK) memcpy(out, tmp, (size_t)n * sizeof *out);
  return st;
}

ngp_status ngp_json_get_matrix(const cJSON *obj, const char *key, const char *file, const char *ctx, int min_rows,
                               int max_rows, int cols, float *out, int *rows_read, bool *present, ngp_error *err) {
  const cJSON *it = member(obj, key);
  if (present) *present = it != NULL;
  if (!it) return NGP_OK;
  char f[256], what[80];
  FIELD(f, ctx, key);
  if (!cJSON_IsArray(it))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: expected a %dx%d matrix (an array of rows), found %s", file, f,
                         min_rows, cols, ngp_json_type_name(it));
  int rows = cJSON_GetArraySize(it);
  if (rows < min_rows || rows > max_rows)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: expected %d to %d rows of %d numbers, found %d rows", file, f,
                         min_rows, max_rows, cols, rows);
  snprintf(what, sizeof what, "a row of %d numbers", cols);
  float tmp[64];
  if (rows * cols > 64) return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: matrix too large", file, f);
  for (int r = 0; r < rows; r++) {
    char rf[300];
    snprintf(rf, sizeof rf, "%s[%d]", f, r);
    ngp_status st = read_numbers(cJSON_GetArrayItem(it, r), cols, file, rf, what, tmp + r * cols, err);
    if (st != NGP_OK) return st;
  }
  memcpy(out, tmp, (size_t)(rows * cols) * sizeof *out);
  if (rows_read) *rows_read = rows;
  return NGP_OK;
}
