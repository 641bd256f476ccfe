/*
 * longctx/gguf.h — GGUF v2/v3 reader and writer.
 *
 * File layout (little-endian), as specified by ggml's docs/gguf.md:
 *
 *   u32 magic "GGUF" | u32 version (2 or 3) | u64 n_tensors | u64 n_kv
 *   n_kv x { string key | u32 value_type | value }
 *   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
 *   padding to general.alignment (default 32)
 *   tensor data; each tensor at data_start + offset (offset a multiple of alignment)
 *
 *   string = u64 length + bytes (not NUL-terminated)
 *   array  = u32 element type + u64 count + elements
 *
 * The reader treats every byte as untrusted: each length, count, offset and
 * size is checked against the file before use, and nothing is allocated from
 * an unchecked size. Tensor data is memory-mapped read-only (or borrowed from
 * the caller's buffer with lc_gguf_open_memory).
 */
#ifndef LONGCTX_GGUF_H
#define LONGCTX_GGUF_H

#include "longctx/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LC_GGUF_UINT8 = 0,
    LC_GGUF_INT8 = 1,
    LC_GGUF_UINT16 = 2,
    LC_GGUF_INT16 = 3,
    LC_GGUF_UINT32 = 4,
    LC_GGUF_INT32 = 5,
    LC_GGUF_FLOAT32 = 6,
    LC_GGUF_BOOL = 7,
    LC_GGUF_STRING = 8,
    LC_GGUF_ARRAY = 9,
    LC_GGUF_UINT64 = 10,
    LC_GGUF_INT64 = 11,
    LC_GGUF_FLOAT64 = 12,
    LC_GGUF_TYPE_COUNT
} lc_gguf_type;

/* ggml tensor type ids used in GGUF files (the ones we read or write). */
enum {
    LC_GGML_TYPE_F32 = 0,
    LC_GGML_TYPE_F16 = 1,
    LC_GGML_TYPE_Q8_0 = 8,
    LC_GGML_TYPE_BF16 = 30
};

#define LC_GGUF_MAX_DIMS 4

typedef struct {
    const char *name;     /* NUL-terminated copy owned by the lc_gguf */
    uint32_t n_dims;
    int64_t ne[LC_GGUF_MAX_DIMS]; /* ne[0] is the fastest-varying dimension */
    uint32_t ggml_type;
    lc_dtype dtype;       /* LC_DTYPE_COUNT if the ggml type is not one we read */
    uint64_t offset;      /* from the start of the data section */
    size_t nbytes;
    const void *data;     /* inside the mapping; NULL for a vocabulary-only file */
} lc_gguf_tensor;

typedef struct lc_gguf lc_gguf;

/* Open and fully validate a file (header, metadata, tensor infos, bounds). */
lc_status lc_gguf_open(const char *path, lc_gguf **out, lc_error *err);
/* The same over a caller-owned buffer that must outlive the lc_gguf. */
lc_status lc_gguf_open_memory(const void *data, size_t size, lc_gguf **out, lc_error *err);
void lc_gguf_close(lc_gguf *g);

uint32_t lc_gguf_version(const lc_gguf *g);
size_t lc_gguf_alignment(const lc_gguf *g);

/* Metadata. Keys are looked up by exact name; -1 if absent. */
int64_t lc_gguf_n_kv(const lc_gguf *g);
int64_t lc_gguf_find_key(const lc_gguf *g, const char *key);
const char *lc_gguf_key_name(const lc_gguf *g, int64_t idx);
lc_gguf_type lc_gguf_key_type(const lc_gguf *g, int64_t idx);

/* Typed getters by key name. Integer getters accept any integer type whose
 * value fits; float getters accept f32/f64. Return LC_OK, or an error that
 * names the key (absent: LC_ERR_FORMAT with "missing key"). */
lc_status lc_gguf_get_u64(const lc_gguf *g, const char *key, uint64_t *out, lc_error *err);
lc_status lc_gguf_get_i64(const lc_gguf *g, const char *key, int64_t *out, lc_error *err);
lc_status lc_gguf_get_f64(const lc_gguf *g, const char *key, double *out, lc_error *err);
lc_status lc_gguf_get_bool(const lc_gguf *g, const char *key, bool *out, lc_error *err);
/* String value: pointer into the file (not NUL-terminated) and its length. */
lc_status lc_gguf_get_str(const lc_gguf *g, const char *key, const char **s, size_t *len, lc_error *err);
/* Convenience: true if the key exists (any type). */
bool lc_gguf_has(const lc_gguf *g, const char *key);

/* Arrays: element type and count; numeric elements as a raw pointer into the
 * file (little-endian, possibly unaligned: read with memcpy), string elements
 * one at a time. */
lc_status lc_gguf_get_arr(const lc_gguf *g, const char *key, lc_gguf_type *elem_type, uint64_t *count,
                          const void **data, lc_error *err);
lc_status lc_gguf_get_arr_str(const lc_gguf *g, const char *key, uint64_t i, const char **s, size_t *len,
                              lc_error *err);

/* Tensors. */
int64_t lc_gguf_n_tensors(const lc_gguf *g);
const lc_gguf_tensor *lc_gguf_tensor_at(const lc_gguf *g, int64_t i);
const lc_gguf_tensor *lc_gguf_find_tensor(const lc_gguf *g, const char *name);

/* ---- Writer ---------------------------------------------------------------
 * Collects metadata and tensors (data pointers are borrowed until written),
 * then writes a GGUF v3 file with the given alignment. */
typedef struct lc_gguf_writer lc_gguf_writer;

lc_status lc_gguf_writer_create(lc_gguf_writer **out, lc_error *err);
void lc_gguf_writer_free(lc_gguf_writer *w);
lc_status lc_gguf_set_u32(lc_gguf_writer *w, const char *key, uint32_t v, lc_error *err);
lc_status lc_gguf_set_i32(lc_gguf_writer *w, const char *key, int32_t v, lc_error *err);
lc_status lc_gguf_set_u64(lc_gguf_writer *w, const char *key, uint64_t v, lc_error *err);
lc_status lc_gguf_set_f32(lc_gguf_writer *w, const char *key, float v, lc_error *err);
lc_status lc_gguf_set_bool(lc_gguf_writer *w, const char *key, bool v, lc_error *err);
lc_status lc_gguf_set_str(lc_gguf_writer *w, const char *key, const char *v, lc_error *err);
/* Arrays are copied. */
lc_status lc_gguf_set_arr_str(lc_gguf_writer *w, const char *key, const char *const *v, uint64_t n, lc_error *err);
/* Strings with explicit lengths (may contain NUL bytes). */
lc_status lc_gguf_set_arr_strn(lc_gguf_writer *w, const char *key, const char *const *v, const size_t *lens,
                               uint64_t n, lc_error *err);
lc_status lc_gguf_set_arr_f32(lc_gguf_writer *w, const char *key, const float *v, uint64_t n, lc_error *err);
lc_status lc_gguf_set_arr_i32(lc_gguf_writer *w, const char *key, const int32_t *v, uint64_t n, lc_error *err);
/* A tensor of dtype with dims ne[0..n_dims-1] (ne[0] fastest); data is read at
 * write time and must hold exactly the tensor's bytes. */
lc_status lc_gguf_add_tensor(lc_gguf_writer *w, const char *name, lc_dtype dtype, uint32_t n_dims, const int64_t *ne,
                             const void *data, lc_error *err);
lc_status lc_gguf_write(lc_gguf_writer *w, const char *path, size_t alignment, lc_error *err);

/* ggml type id <-> lc_dtype; LC_DTYPE_COUNT / UINT32_MAX when unmapped. */
lc_dtype lc_gguf_dtype_from_ggml(uint32_t ggml_type);
uint32_t lc_gguf_ggml_from_dtype(lc_dtype t);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_GGUF_H */
