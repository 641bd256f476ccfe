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
 * the caller's buffer with lc_gguf_open_memory). What it accepts and refuses
 * is listed in docs/formats.md.
 *
 * Ownership: an lc_gguf owns its mapping, its copies of key and tensor names
 * and its indexes; every pointer it hands out (names, strings, array data,
 * tensor data) lives until lc_gguf_close.
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

/* llama.cpp's general.file_type values for the types we write. */
enum {
    LC_GGUF_FILE_TYPE_ALL_F32 = 0,
    LC_GGUF_FILE_TYPE_MOSTLY_F16 = 1,
    LC_GGUF_FILE_TYPE_MOSTLY_Q8_0 = 7,
    LC_GGUF_FILE_TYPE_MOSTLY_BF16 = 32
};

#define LC_GGUF_DEFAULT_ALIGNMENT 32
/* Nesting limit of arrays of arrays (the reader refuses deeper files). */
#define LC_GGUF_MAX_ARRAY_DEPTH 8

#define LC_GGUF_MAX_DIMS 4

typedef struct {
    const char *name;     /* NUL-terminated copy owned by the lc_gguf */
    uint32_t n_dims;
    int64_t ne[LC_GGUF_MAX_DIMS]; /* ne[0] is the fastest-varying dimension */
    uint32_t ggml_type;
    lc_dtype dtype;       /* LC_DTYPE_COUNT if the ggml type is not one we read */
    uint64_t offset;      /* from the start of the data section */
    size_t nbytes;        /* 0 if the ggml type's block size is unknown     */
    const void *data;     /* inside the mapping; NULL when nbytes is 0      */
} lc_gguf_tensor;

typedef struct lc_gguf lc_gguf;

/* Whether the file can be read and starts with the GGUF magic (nothing else
 * is checked: lc_gguf_open does that). */
bool lc_gguf_file_has_magic(const char *path);
/* Open and fully validate a file (header, metadata, tensor infos, bounds). */
lc_status lc_gguf_open(const char *path, lc_gguf **out, lc_error *err);
/* The same, the file read whole into private memory instead of mapped
 * (llama.cpp's --no-mmap): transparent huge pages are asked for
 * (madvise(MADV_HUGEPAGE); the file's own mapping is in 4 KiB pages, one per
 * row of a 2048-column f16 weight), the memory is read-only once full and is
 * not shared with the page cache. A slower open, faster reads of the
 * weights (docs/performance.md). */
lc_status lc_gguf_open_read(const char *path, lc_gguf **out, lc_error *err);
/* The same over a caller-owned buffer that must outlive the lc_gguf. */
lc_status lc_gguf_open_memory(const void *data, size_t size, lc_gguf **out, lc_error *err);
void lc_gguf_close(lc_gguf *g);

uint32_t lc_gguf_version(const lc_gguf *g);
size_t lc_gguf_alignment(const lc_gguf *g);
/* Size of the file (or buffer) and where its tensor data section starts. */
size_t lc_gguf_file_size(const lc_gguf *g);
size_t lc_gguf_data_offset(const lc_gguf *g);

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
 * one at a time (data is NULL for arrays of strings and arrays of arrays;
 * nested arrays are validated and skipped, their contents are not exposed). */
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
 * then writes a GGUF v3 file with the given alignment. Setting a key that is
 * already set replaces its value (as llama.cpp's gguf_set_* do); adding a
 * tensor name twice is refused. The file is written to a temporary file in
 * the same folder, flushed to disk, then renamed over `path`, so a crash or
 * an error never leaves a half-written model behind. */
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
/* The remaining scalar types, and arrays of any numeric or bool type (v holds
 * n native values of elem_type: uint8_t ... double, bool as uint8_t 0/1). */
lc_status lc_gguf_set_u8(lc_gguf_writer *w, const char *key, uint8_t v, lc_error *err);
lc_status lc_gguf_set_i8(lc_gguf_writer *w, const char *key, int8_t v, lc_error *err);
lc_status lc_gguf_set_u16(lc_gguf_writer *w, const char *key, uint16_t v, lc_error *err);
lc_status lc_gguf_set_i16(lc_gguf_writer *w, const char *key, int16_t v, lc_error *err);
lc_status lc_gguf_set_i64(lc_gguf_writer *w, const char *key, int64_t v, lc_error *err);
lc_status lc_gguf_set_f64(lc_gguf_writer *w, const char *key, double v, lc_error *err);
/* A string value with an explicit length (may contain NUL bytes). */
lc_status lc_gguf_set_strn(lc_gguf_writer *w, const char *key, const char *v, size_t len, lc_error *err);
lc_status lc_gguf_set_arr(lc_gguf_writer *w, const char *key, lc_gguf_type elem_type, const void *v, uint64_t n,
                          lc_error *err);
/* Copy key `key` of a reader into the writer (any type, arrays of arrays
 * included): used to carry metadata over when rewriting a file. */
lc_status lc_gguf_copy_kv(lc_gguf_writer *w, const lc_gguf *src, const char *key, lc_error *err);
/* A tensor of dtype with dims ne[0..n_dims-1] (ne[0] fastest); data is read at
 * write time and must hold exactly the tensor's bytes. */
lc_status lc_gguf_add_tensor(lc_gguf_writer *w, const char *name, lc_dtype dtype, uint32_t n_dims, const int64_t *ne,
                             const void *data, lc_error *err);
/* The same, but the bytes are produced at write time, one tensor at a time:
 * fill(user, dst, nbytes, err) must write exactly nbytes into dst. Lets a
 * converter stream a model to disk without holding a converted copy. */
typedef lc_status (*lc_gguf_fill_fn)(void *user, void *dst, size_t nbytes, lc_error *err);
lc_status lc_gguf_add_tensor_fn(lc_gguf_writer *w, const char *name, lc_dtype dtype, uint32_t n_dims,
                                const int64_t *ne, lc_gguf_fill_fn fill, void *user, lc_error *err);
/* Optional progress (bytes of tensor data written / total) during write. */
void lc_gguf_writer_set_progress(lc_gguf_writer *w, lc_progress_fn fn, void *user);
/* alignment: a power of two (0 = 32); written as general.alignment when it is
 * not 32 or when the key was set. */
lc_status lc_gguf_write(lc_gguf_writer *w, const char *path, size_t alignment, lc_error *err);

/* ggml type id <-> lc_dtype; LC_DTYPE_COUNT / UINT32_MAX when unmapped. */
lc_dtype lc_gguf_dtype_from_ggml(uint32_t ggml_type);
uint32_t lc_gguf_ggml_from_dtype(lc_dtype t);
/* ggml's name of a tensor type ("f32", "q4_K", "iq2_xxs"); NULL if unknown. */
const char *lc_gguf_ggml_type_name(uint32_t ggml_type);
/* ggml's block size (elements) and block bytes of a tensor type; false when
 * the type is unknown (or was removed from ggml). */
bool lc_gguf_ggml_type_size(uint32_t ggml_type, int64_t *block, size_t *block_bytes);
/* "u8", "i32", "f32", "bool", "string", "array", ...; "?" if out of range. */
const char *lc_gguf_type_name(lc_gguf_type t);

#ifdef __cplusplus
}
#endif
#endif /* LONGCTX_GGUF_H */
