/*
 * Internal pieces shared by the GGUF reader (gguf_read.c), writer
 * (gguf_write.c) and type tables (gguf_types.c).
 */
#ifndef LC_GGUF_INTERNAL_H
#define LC_GGUF_INTERNAL_H

#include <string.h>

#include "common/util.h"
#include "longctx/gguf.h"

#define LC_GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define LC_GGUF_VERSION 3u
/* Keys longer than this are refused (the spec's limit is 2^16 - 1 bytes). */
#define LC_GGUF_MAX_KEY_LEN 65535u
/* Tensor names: llama.cpp's GGML_MAX_NAME is 64 (63 bytes + NUL). We accept
 * longer names but no more than this. */
#define LC_GGUF_MAX_NAME_LEN 4096u

/* Bytes of one scalar value of type t (1..8), or 0 for string/array/unknown. */
size_t lc_gguf_scalar_size(lc_gguf_type t);

/* Little-endian loads and stores that work at any alignment. */
static inline uint16_t lc_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t lc_rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t lc_rd64(const uint8_t *p) { return (uint64_t)lc_rd32(p) | ((uint64_t)lc_rd32(p + 4) << 32); }
static inline void lc_wr16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void lc_wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void lc_wr64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* FNV-1a over len bytes (hash tables of keys and tensor names). */
static inline uint64_t lc_gguf_hash(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Bytes of a tensor of ggml_type with dims ne[0..3] (unused dims = 1).
 * Returns LC_OK and *nbytes (0 when the type's block size is unknown), or an
 * error when ne[0] is not a whole number of blocks or the size overflows. */
lc_status lc_gguf_tensor_nbytes(uint32_t ggml_type, const int64_t ne[LC_GGUF_MAX_DIMS], size_t *nbytes,
                                const char *name, lc_error *err);

/* The raw encoded value of key idx (type tag excluded) for lc_gguf_copy_kv:
 * pointer into the file and its length in bytes. */
bool lc_gguf_raw_value(const lc_gguf *g, int64_t idx, const uint8_t **p, size_t *len);

#endif
