/* Per-call word -> ids cache shared by the SPM and BPE encoders (word_cache.c). */
#ifndef LC_TOKENIZER_WORD_CACHE_H
#define LC_TOKENIZER_WORD_CACHE_H

#include "tokenizer/tokenizer_internal.h"

/* Words longer than this are encoded every time (and bound the ids one word
 * can produce: SPM at most one id per byte, BPE too). */
#define LC_TOK_CACHE_MAX_WORD 48
/* At most this many distinct words (~3 MiB of slots and ids). */
#define LC_TOK_CACHE_MAX_ENTRIES (1 << 16)

typedef struct {
    uint64_t hash;
    int64_t off;      /* key: base[off, off + len)       */
    uint32_t len;     /* 0 = empty slot                  */
    uint32_t n_ids;
    uint32_t ids_off; /* into ids                        */
} lc_tok_cache_slot;

typedef struct {
    const char *base; /* the text being encoded (keys point into it) */
    lc_tok_cache_slot *slots;
    size_t mask, n;
    int32_t *ids;
    size_t ids_len, ids_cap;
} lc_tok_cache;

/* Texts shorter than this are not worth a cache. */
#define LC_TOK_CACHE_MIN_TEXT 1024

lc_status lc_tok_cache_init(lc_tok_cache *c, const char *base, lc_error *err);
void lc_tok_cache_free(lc_tok_cache *c);
/* The cached ids of base[off, off + len) or NULL. */
const int32_t *lc_tok_cache_get(const lc_tok_cache *c, int64_t off, uint32_t len, uint64_t hash, uint32_t *n);
/* Remember them (silently does nothing when full or out of memory). */
void lc_tok_cache_put(lc_tok_cache *c, int64_t off, uint32_t len, uint64_t hash, const int32_t *ids, uint32_t n);

#endif
