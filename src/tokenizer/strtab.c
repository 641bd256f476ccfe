/*
 * Hashed string table (vocabulary pieces -> ids) and the (left, right) pair
 * map of BPE merges. Open addressing with linear probing, load <= 1/2.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

/* 64-bit multiply-mix hash over 8-byte words. */
static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}

/* One multiply per 8-byte word, one final avalanche: pieces are short, and
 * both the slot (low bits) and the tag (high bits) need well-mixed bits. */
uint64_t lc_tok_hash(const char *s, size_t len) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy(&w, s + i, len - i);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
    }
    return mix64(h);
}

static size_t table_size_for(size_t n) {
    size_t cap = 64;
    while (cap < 2 * n) cap *= 2; /* n <= LC_TOK_MAX_VOCAB-ish: no overflow */
    return cap;
}

lc_status lc_tok_strtab_init(lc_tok_strtab *t, int32_t cap, size_t blob_cap, bool indexed, lc_error *err) {
    memset(t, 0, sizeof *t);
    if (cap < 16) cap = 16;
    if (blob_cap < 64) blob_cap = 64;
    size_t nslots = table_size_for((size_t)cap);
    t->off = malloc((size_t)cap * sizeof *t->off);
    t->len = malloc((size_t)cap * sizeof *t->len);
    t->blob = malloc(blob_cap);
    if (indexed) t->slots = malloc(nslots * sizeof *t->slots);
    if (!t->off || !t->len || !t->blob || (indexed && !t->slots)) {
        lc_tok_strtab_free(t);
        return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for a table of %d strings", cap);
    }
    if (indexed) memset(t->slots, 0xff, nslots * sizeof *t->slots);
    t->cap = cap;
    t->blob_cap = blob_cap;
    t->mask = nslots - 1;
    return LC_OK;
}

void lc_tok_strtab_free(lc_tok_strtab *t) {
    free(t->blob);
    free(t->off);
    free(t->len);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static void index_insert(lc_tok_strtab *t, int32_t id) {
    const char *s = lc_tok_strtab_str(t, id);
    size_t len = t->len[id];
    uint64_t h = lc_tok_hash(s, len);
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
        int32_t o = t->slots[i].id;
        if (o < 0) {
            t->slots[i] = (lc_tok_slot){id, tag};
            return;
        }
        if (t->slots[i].tag == tag && t->len[o] == len && memcmp(lc_tok_strtab_str(t, o), s, len) == 0) {
            t->slots[i].id = id; /* duplicate: the newest wins */
            return;
        }
    }
}

static lc_status grow_index(lc_tok_strtab *t, lc_error *err) {
    size_t nslots = table_size_for((size_t)t->n + 1);
    if (nslots <= t->mask + 1) return LC_OK;
    lc_tok_slot *slots = malloc(nslots * sizeof *slots);
    if (!slots) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory growing a hash table");
    memset(slots, 0xff, nslots * sizeof *slots);
    free(t->slots);
    t->slots = slots;
    t->mask = nslots - 1;
    for (int32_t id = 0; id < t->n; id++) index_insert(t, id);
    return LC_OK;
}

lc_status lc_tok_strtab_add(lc_tok_strtab *t, const char *s, size_t len, int32_t *id, lc_error *err) {
    if (len > UINT32_MAX) return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: a string of %zu bytes", len);
    if (t->n == t->cap) {
        if (t->cap >= INT32_MAX / 2) return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: too many strings");
        int32_t cap2 = t->cap * 2;
        size_t *off = realloc(t->off, (size_t)cap2 * sizeof *off);
        if (!off) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory growing a string table");
        t->off = off;
        uint32_t *ln = realloc(t->len, (size_t)cap2 * sizeof *ln);
        if (!ln) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory growing a string table");
        t->len = ln;
        t->cap = cap2;
    }
    size_t need;
    if (!lc_add_size(t->blob_len, len, &need) || !lc_add_size(need, 1, &need))
        return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: string table overflows");
    if (need > t->blob_cap) {
        size_t cap2 = t->blob_cap;
        while (cap2 < need)
            if (!lc_mul_size(cap2, 2, &cap2)) return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: string table overflows");
        char *b = realloc(t->blob, cap2);
        if (!b) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory growing a string table");
        t->blob = b;
        t->blob_cap = cap2;
    }
    int32_t nid = t->n;
    t->off[nid] = t->blob_len;
    t->len[nid] = (uint32_t)len;
    if (len) memcpy(t->blob + t->blob_len, s, len);
    t->blob[t->blob_len + len] = '\0';
    t->blob_len = need;
    t->n++;
    if (!t->slots) {
        *id = nid;
        return LC_OK;
    }
    lc_status st = grow_index(t, err);
    if (st != LC_OK) {
        t->n--;
        t->blob_len = t->off[nid];
        return st;
    }
    index_insert(t, nid);
    *id = nid;
    return LC_OK;
}

int32_t lc_tok_strtab_find(const lc_tok_strtab *t, const char *s, size_t len) {
    uint64_t h = lc_tok_hash(s, len);
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
        int32_t o = t->slots[i].id;
        if (o < 0) return -1;
        if (t->slots[i].tag == tag && t->len[o] == len && memcmp(lc_tok_strtab_str(t, o), s, len) == 0) return o;
    }
}

lc_status lc_tok_strtab_intern(lc_tok_strtab *t, const char *s, size_t len, int32_t *id, lc_error *err) {
    int32_t f = lc_tok_strtab_find(t, s, len);
    if (f >= 0) {
        *id = f;
        return LC_OK;
    }
    return lc_tok_strtab_add(t, s, len, id, err);
}

/* ---- pair map ------------------------------------------------------------ */

static inline uint64_t pair_key(int32_t l, int32_t r) { return (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) + 1; }

lc_status lc_tok_pairmap_init(lc_tok_pairmap *m, int64_t n_expected, lc_error *err) {
    size_t nslots = table_size_for(n_expected > 0 ? (size_t)n_expected : 0);
    m->slots = calloc(nslots, sizeof *m->slots);
    m->mask = nslots - 1;
    m->n = 0;
    if (!m->slots) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for %lld merges", (long long)n_expected);
    return LC_OK;
}

void lc_tok_pairmap_free(lc_tok_pairmap *m) {
    free(m->slots);
    m->slots = NULL;
    m->mask = m->n = 0;
}

void lc_tok_pairmap_put(lc_tok_pairmap *m, int32_t left, int32_t right, int32_t rank, int32_t result) {
    uint64_t k = pair_key(left, right);
    size_t i = (size_t)mix64(k) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        if (m->slots[i].key == k) return; /* keep the lower rank */
        if (m->slots[i].key == 0) {
            m->slots[i].key = k;
            m->slots[i].rank = rank;
            m->slots[i].result = result;
            m->n++;
            return;
        }
    }
}

const lc_tok_pair_slot *lc_tok_pairmap_get(const lc_tok_pairmap *m, int32_t left, int32_t right) {
    uint64_t k = pair_key(left, right);
    size_t i = (size_t)mix64(k) & m->mask;
    for (;; i = (i + 1) & m->mask) {
        if (m->slots[i].key == k) return &m->slots[i];
        if (m->slots[i].key == 0) return NULL;
    }
}
