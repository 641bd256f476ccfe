/* A table of distinct byte strings with open-addressing hashed lookup. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

uint64_t lc_hash_bytes(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    return h ^ (h >> 32);
}

int32_t lc_strtab_find(const lc_strtab *t, const char *s, size_t len) {
    if (t->n_slots == 0) return -1;
    size_t mask = t->n_slots - 1;
    for (size_t i = (size_t)lc_hash_bytes(s, len) & mask;; i = (i + 1) & mask) {
        int32_t id = t->slots[i];
        if (id < 0) return -1;
        if (t->len[id] == len && memcmp(t->chars.p + t->off[id], s, len) == 0) return id;
    }
}

static bool rehash(lc_strtab *t, size_t n_slots) {
    int32_t *slots = malloc(n_slots * sizeof *slots);
    if (!slots) return false;
    memset(slots, 0xff, n_slots * sizeof *slots);
    size_t mask = n_slots - 1;
    for (int64_t id = 0; id < t->n; id++) {
        size_t i = (size_t)lc_hash_bytes(t->chars.p + t->off[id], t->len[id]) & mask;
        while (slots[i] >= 0) i = (i + 1) & mask;
        slots[i] = (int32_t)id;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return true;
}

int32_t lc_strtab_add(lc_strtab *t, const char *s, size_t len, bool *added) {
    if (added) *added = false;
    int32_t id = lc_strtab_find(t, s, len);
    if (id >= 0) return id;
    if (t->n >= INT32_MAX - 1 || len > UINT32_MAX) return -1;
    if (t->n == t->cap) {
        int64_t cap = t->cap ? t->cap * 2 : 256;
        size_t *off = realloc(t->off, (size_t)cap * sizeof *off);
        if (!off) return -1;
        t->off = off;
        uint32_t *l = realloc(t->len, (size_t)cap * sizeof *l);
        if (!l) return -1;
        t->len = l;
        t->cap = cap;
    }
    /* keep the load factor under 1/2 */
    if ((size_t)(t->n + 1) * 2 > t->n_slots && !rehash(t, t->n_slots ? t->n_slots * 2 : 512)) return -1;
    size_t off = t->chars.len;
    lc_buf_put(&t->chars, s, len);
    lc_buf_put(&t->chars, "", 1); /* NUL separator */
    if (t->chars.failed) return -1;
    id = (int32_t)t->n++;
    t->off[id] = off;
    t->len[id] = (uint32_t)len;
    size_t mask = t->n_slots - 1;
    size_t i = (size_t)lc_hash_bytes(s, len) & mask;
    while (t->slots[i] >= 0) i = (i + 1) & mask;
    t->slots[i] = id;
    if (added) *added = true;
    return id;
}

void lc_strtab_free(lc_strtab *t) {
    lc_buf_free(&t->chars);
    free(t->off);
    free(t->len);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
