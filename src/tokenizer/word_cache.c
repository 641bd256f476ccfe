/*
 * Per-call cache of short words -> their token ids, used by both encoders
 * (SPM segments, BPE pre-tokens). Natural text repeats a few thousand words
 * most of the time, so most words are encoded once per call and then copied.
 *
 * Keys are (offset, length) into the text being encoded, which outlives the
 * cache (one encode call); only words of at most LC_TOK_CACHE_MAX_WORD bytes
 * are cached, and the table stops growing at LC_TOK_CACHE_MAX_ENTRIES, so the
 * memory is bounded whatever the text. The cache never changes results: a
 * word's encoding depends only on its bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/word_cache.h"

lc_status lc_tok_cache_init(lc_tok_cache *c, const char *base, lc_error *err) {
    memset(c, 0, sizeof *c);
    c->base = base;
    size_t slots = 1024;
    c->slots = calloc(slots, sizeof *c->slots);
    c->ids_cap = 1024;
    c->ids = malloc(c->ids_cap * sizeof *c->ids);
    if (!c->slots || !c->ids) {
        lc_tok_cache_free(c);
        return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for the word cache");
    }
    c->mask = slots - 1;
    return LC_OK;
}

void lc_tok_cache_free(lc_tok_cache *c) {
    free(c->slots);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

const int32_t *lc_tok_cache_get(const lc_tok_cache *c, int64_t off, uint32_t len, uint64_t hash, uint32_t *n) {
    for (size_t i = (size_t)hash & c->mask;; i = (i + 1) & c->mask) {
        const lc_tok_cache_slot *s = &c->slots[i];
        if (s->len == 0) return NULL;
        if (s->hash == hash && s->len == len && memcmp(c->base + s->off, c->base + off, len) == 0) {
            *n = s->n_ids;
            return c->ids + s->ids_off;
        }
    }
}

static void put_slot(lc_tok_cache_slot *slots, size_t mask, const lc_tok_cache_slot *s) {
    size_t i = (size_t)s->hash & mask;
    while (slots[i].len) i = (i + 1) & mask;
    slots[i] = *s;
}

void lc_tok_cache_put(lc_tok_cache *c, int64_t off, uint32_t len, uint64_t hash, const int32_t *ids, uint32_t n) {
    if (len == 0 || c->n >= LC_TOK_CACHE_MAX_ENTRIES) return;
    if (2 * (c->n + 1) > c->mask + 1) { /* grow (failure just stops caching) */
        size_t slots = 2 * (c->mask + 1);
        lc_tok_cache_slot *ns = calloc(slots, sizeof *ns);
        if (!ns) return;
        for (size_t i = 0; i <= c->mask; i++)
            if (c->slots[i].len) put_slot(ns, slots - 1, &c->slots[i]);
        free(c->slots);
        c->slots = ns;
        c->mask = slots - 1;
    }
    if (c->ids_len + n > c->ids_cap) {
        size_t cap = 2 * c->ids_cap + n;
        int32_t *ni = realloc(c->ids, cap * sizeof *ni);
        if (!ni) return;
        c->ids = ni;
        c->ids_cap = cap;
    }
    memcpy(c->ids + c->ids_len, ids, (size_t)n * sizeof *ids);
    lc_tok_cache_slot s = {hash, off, len, n, (uint32_t)c->ids_len};
    put_slot(c->slots, c->mask, &s);
    c->ids_len += n;
    c->n++;
}
