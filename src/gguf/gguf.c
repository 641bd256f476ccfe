/* GGUF reader/writer — placeholder until the real implementation lands: every call fails. */
#include "longctx/model.h"
#include "longctx/rope.h"
#include "longctx/tokenizer.h"
#include "longctx/gguf.h"
#include "longctx/common.h"
#include <math.h>
#include <string.h>

lc_status lc_gguf_open(const char *path, lc_gguf **out, lc_error *err) {
    (void)path;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_open: not implemented yet");
}

lc_status lc_gguf_open_memory(const void *data, size_t size, lc_gguf **out, lc_error *err) {
    (void)data;
    (void)size;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_open_memory: not implemented yet");
}

void lc_gguf_close(lc_gguf *g) {
    (void)g;
}

uint32_t lc_gguf_version(const lc_gguf *g) {
    (void)g;
    return (uint32_t)0;
}

size_t lc_gguf_alignment(const lc_gguf *g) {
    (void)g;
    return (size_t)0;
}

int64_t lc_gguf_n_kv(const lc_gguf *g) {
    (void)g;
    return (int64_t)0;
}

int64_t lc_gguf_find_key(const lc_gguf *g, const char *key) {
    (void)g;
    (void)key;
    return (int64_t)0;
}

const char * lc_gguf_key_name(const lc_gguf *g, int64_t idx) {
    (void)g;
    (void)idx;
    return NULL;
}

lc_gguf_type lc_gguf_key_type(const lc_gguf *g, int64_t idx) {
    (void)g;
    (void)idx;
    return (lc_gguf_type)0;
}

lc_status lc_gguf_get_u64(const lc_gguf *g, const char *key, uint64_t *out, lc_error *err) {
    (void)g;
    (void)key;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_get_u64: not implemented yet");
}

lc_status lc_gguf_get_i64(const lc_gguf *g, const char *key, int64_t *out, lc_error *err) {
    (void)g;
    (void)key;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_get_i64: not implemented yet");
}

lc_status lc_gguf_get_f64(const lc_gguf *g, const char *key, double *out, lc_error *err) {
    (void)g;
    (void)key;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_get_f64: not implemented yet");
}

lc_status lc_gguf_get_bool(const lc_gguf *g, const char *key, bool *out, lc_error *err) {
    (void)g;
    (void)key;
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_get_bool: not implemented yet");
}

lc_status lc_gguf_get_str(const lc_gguf *g, const char *key, const char **s, size_t *len, lc_error *err) {
    (void)g;
    (void)key;
    (void)s;
    (void)len;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_get_str: not implemented yet");
}

bool lc_gguf_has(const lc_gguf *g, const char *key) {
    (void)g;
    (void)key;
    return false;
}

lc_status lc_gguf_get_arr(const lc_gguf *g, const char *key, lc_gguf_type *elem_type, uint64_t *count, const void **data, lc_error *err) {
    (void)g;
    (void)key;
    (void)elem_type;
    (void)count;
    (void)data;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_get_arr: not implemented yet");
}

lc_status lc_gguf_get_arr_str(const lc_gguf *g, const char *key, uint64_t i, const char **s, size_t *len, lc_error *err) {
    (void)g;
    (void)key;
    (void)i;
    (void)s;
    (void)len;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_get_arr_str: not implemented yet");
}

int64_t lc_gguf_n_tensors(const lc_gguf *g) {
    (void)g;
    return (int64_t)0;
}

const lc_gguf_tensor * lc_gguf_tensor_at(const lc_gguf *g, int64_t i) {
    (void)g;
    (void)i;
    return NULL;
}

const lc_gguf_tensor * lc_gguf_find_tensor(const lc_gguf *g, const char *name) {
    (void)g;
    (void)name;
    return NULL;
}

lc_status lc_gguf_writer_create(lc_gguf_writer **out, lc_error *err) {
    (void)out;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_writer_create: not implemented yet");
}

void lc_gguf_writer_free(lc_gguf_writer *w) {
    (void)w;
}

lc_status lc_gguf_set_u32(lc_gguf_writer *w, const char *key, uint32_t v, lc_error *err) {
    (void)w;
    (void)key;
    (void)v;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_set_u32: not implemented yet");
}

lc_status lc_gguf_set_i32(lc_gguf_writer *w, const char *key, int32_t v, lc_error *err) {
    (void)w;
    (void)key;
    (void)v;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_set_i32: not implemented yet");
}

lc_status lc_gguf_set_u64(lc_gguf_writer *w, const char *key, uint64_t v, lc_error *err) {
    (void)w;
    (void)key;
    (void)v;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_set_u64: not implemented yet");
}

lc_status lc_gguf_set_f32(lc_gguf_writer *w, const char *key, float v, lc_error *err) {
    (void)w;
    (void)key;
    (void)v;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_set_f32: not implemented yet");
}

lc_status lc_gguf_set_bool(lc_gguf_writer *w, const char *key, bool v, lc_error *err) {
    (void)w;
    (void)key;
    (void)v;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_set_bool: not implemented yet");
}

lc_status lc_gguf_set_str(lc_gguf_writer *w, const char *key, const char *v, lc_error *err) {
    (void)w;
    (void)key;
    (void)v;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_set_str: not implemented yet");
}

lc_status lc_gguf_set_arr_str(lc_gguf_writer *w, const char *key, const char *const *v, uint64_t n, lc_error *err) {
    (void)w;
    (void)key;
    (void)v;
    (void)n;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_set_arr_str: not implemented yet");
}

lc_status lc_gguf_set_arr_strn(lc_gguf_writer *w, const char *key, const char *const *v, const size_t *lens, uint64_t n, lc_error *err) {
    (void)w;
    (void)key;
    (void)v;
    (void)lens;
    (void)n;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_set_arr_strn: not implemented yet");
}

lc_status lc_gguf_set_arr_f32(lc_gguf_writer *w, const char *key, const float *v, uint64_t n, lc_error *err) {
    (void)w;
    (void)key;
    (void)v;
    (void)n;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_set_arr_f32: not implemented yet");
}

lc_status lc_gguf_set_arr_i32(lc_gguf_writer *w, const char *key, const int32_t *v, uint64_t n, lc_error *err) {
    (void)w;
    (void)key;
    (void)v;
    (void)n;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_set_arr_i32: not implemented yet");
}

lc_status lc_gguf_add_tensor(lc_gguf_writer *w, const char *name, lc_dtype dtype, uint32_t n_dims, const int64_t *ne, const void *data, lc_error *err) {
    (void)w;
    (void)name;
    (void)dtype;
    (void)n_dims;
    (void)ne;
    (void)data;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_add_tensor: not implemented yet");
}

lc_status lc_gguf_write(lc_gguf_writer *w, const char *path, size_t alignment, lc_error *err) {
    (void)w;
    (void)path;
    (void)alignment;
    (void)err;
    return lc_fail(err, LC_ERR_UNSUPPORTED, "lc_gguf_write: not implemented yet");
}

lc_dtype lc_gguf_dtype_from_ggml(uint32_t ggml_type) {
    (void)ggml_type;
    return LC_DTYPE_COUNT;
}

uint32_t lc_gguf_ggml_from_dtype(lc_dtype t) {
    (void)t;
    return (uint32_t)0;
}
