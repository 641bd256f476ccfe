/* 4-ary min-heap of candidate merges ordered by (key, left): 16-byte
 * entries, so the four children of a node share one cache line and the
 * heap is half as deep as a binary one (it holds ~1 entry per character of
 * a long text). */
#include <stdlib.h>

#include "tokenizer/merge_heap.h"

static inline bool before(const lc_tok_cand *a, const lc_tok_cand *b) {
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

lc_status lc_tok_heap_init(lc_tok_heap *h, size_t cap, lc_error *err) {
    h->n = 0;
    h->cap = cap < 16 ? 16 : cap;
    size_t bytes;
    if (!lc_mul_size(h->cap, sizeof(lc_tok_cand), &bytes))
        return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: merge queue of %zu entries overflows", h->cap);
    h->a = malloc(bytes);
    if (!h->a) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory for a merge queue of %zu entries", h->cap);
    return LC_OK;
}

void lc_tok_heap_free(lc_tok_heap *h) {
    free(h->a);
    h->a = NULL;
    h->n = h->cap = 0;
}

lc_status lc_tok_heap_push(lc_tok_heap *h, const lc_tok_cand *c, lc_error *err) {
    if (h->n == h->cap) {
        size_t cap2, bytes;
        if (!lc_mul_size(h->cap, 2, &cap2) || !lc_mul_size(cap2, sizeof(lc_tok_cand), &bytes))
            return lc_fail(err, LC_ERR_TOO_LARGE, "tokenizer: merge queue overflows");
        lc_tok_cand *a = realloc(h->a, bytes);
        if (!a) return lc_fail(err, LC_ERR_NOMEM, "tokenizer: out of memory growing the merge queue");
        h->a = a;
        h->cap = cap2;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (!before(c, &h->a[p])) break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = *c;
    return LC_OK;
}

bool lc_tok_heap_pop(lc_tok_heap *h, lc_tok_cand *c) {
    if (h->n == 0) return false;
    *c = h->a[0];
    lc_tok_cand last = h->a[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c0 = 4 * i + 1;
        if (c0 >= n) break;
        size_t m = c0, end = LC_MIN(c0 + 4, n);
        for (size_t k = c0 + 1; k < end; k++)
            if (before(&h->a[k], &h->a[m])) m = k;
        if (!before(&h->a[m], &last)) break;
        h->a[i] = h->a[m];
        i = m;
    }
    if (n > 0) h->a[i] = last;
    return true;
}
