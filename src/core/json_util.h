/* json_util.h (internal): cJSON parsing and typed field access with messages that name the file
 * and the field.
 *
 * Field paths: `ctx` is where the object sits ("" for the top level, "frames[3]", "encoding"),
 * `key` the member; messages read "FILE: CTX.KEY: what is wrong". Getters leave *out untouched
 * and set *present = false (when present != NULL) if the key is absent, so callers pre-load
 * defaults. A key holding JSON null counts as absent. */
#ifndef NGP_CORE_JSON_UTIL_H
#define NGP_CORE_JSON_UTIL_H

#include <cjson/cJSON.h>

#include "ngp/common.h"

/* Largest JSON file we accept (scenes with thousands of frames are a few MB). */
#define NGP_JSON_MAX_BYTES ((size_t)256 << 20)

/* Parses JSON text; `//` and block comments are allowed (instant-ngp configs use them).
 * Syntax errors report "NAME:LINE:COL: malformed JSON near '...'". */
ngp_status ngp_json_parse(const char *text, size_t len, const char *name, cJSON **out, ngp_error *err);
ngp_status ngp_json_load_file(const char *path, cJSON **out, ngp_error *err);

/* Writes "ctx.key" (or "key" when ctx is empty) into buf. */
const char *ngp_json_field(char *buf, size_t size, const char *ctx, const char *key);

ngp_status ngp_json_get_double(const cJSON *obj, const char *key, const char *file, const char *ctx, double *out,
                               bool *present, ngp_error *err);
ngp_status ngp_json_get_float(const cJSON *obj, const char *key, const char *file, const char *ctx, float *out,
                              bool *present, ngp_error *err);
/* Must be an integral number within [lo, hi]. */
ngp_status ngp_json_get_int(const cJSON *obj, const char *key, const char *file, const char *ctx, long lo, long hi,
                            int *out, bool *present, ngp_error *err);
ngp_status ngp_json_get_bool(const cJSON *obj, const char *key, const char *file, const char *ctx, bool *out,
                             bool *present, ngp_error *err);
/* *out points into the cJSON tree. */
ngp_status ngp_json_get_string(const cJSON *obj, const char *key, const char *file, const char *ctx, const char **out,
                               bool *present, ngp_error *err);
/* An object or array member; *out is NULL when absent. */
ngp_status ngp_json_get_object(const cJSON *obj, const char *key, const char *file, const char *ctx, const cJSON **out,
                               ngp_error *err);
ngp_status ngp_json_get_array(const cJSON *obj, const char *key, const char *file, const char *ctx, const cJSON **out,
                              ngp_error *err);
/* An array of exactly n finite numbers. */
ngp_status ngp_json_get_vec(const cJSON *obj, const char *key, const char *file, const char *ctx, int n, float *out,
                            bool *present, ngp_error *err);
/* A rows x cols matrix given as an array of rows (instant-ngp's convention); at least min_rows
 * rows must be present, further rows up to max_rows are read, row-major into out. */
ngp_status ngp_json_get_matrix(const cJSON *obj, const char *key, const char *file, const char *ctx, int min_rows,
                               int max_rows, int cols, float *out, int *rows_read, bool *present, ngp_error *err);

/* A short description of a value's JSON type ("a string", "an array", ...). */
const char *ngp_json_type_name(const cJSON *item);

#endif
