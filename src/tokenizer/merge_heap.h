/*
 * The priority queue of candidate merges used by both encoders.
 *
 * Symbols live in a doubly linked list over the input; each candidate is a
 * pair of adjacent symbols (left, right) with a key (SPM: -score, BPE: rank)
 * and the combined byte length at the time it was pushed. Pops come out by
 * key, then by leftmost position: exactly the order in which sentencepiece
 * and llama.cpp apply merges. A popped candidate whose symbols have changed
 * since (length mismatch) is stale and skipped, so no deletion is needed.
 */
#ifndef LC_TOKENIZER_MERGE_HEAP_H
#define LC_TOKENIZER_MERGE_HEAP_H

#include "tokenizer/tokenizer_internal.h"

typedef struct {
    int64_t start;   /* byte offset of the symbol in the (normalised) text */
    int32_t len;     /* byte length; 0 once merged into its left neighbour  */
    int32_t prev, next; /* neighbours, -1 at the ends                       */
    int32_t id;      /* token / symbol id, -1 if not (yet) known             */
} lc_tok_sym;

typedef struct {
    float key;       /* smaller merges first (SPM -score; BPE rank, exact   */
                     /* in a float since ranks are < 2^24)                  */
    int32_t left;    /* the right symbol is left's next when it is popped   */
    int32_t size;    /* len(left) + len(right) when pushed                    */
    int32_t id;      /* the merged symbol's id                                */
} lc_tok_cand;

typedef struct {
    lc_tok_cand *a;
    size_t n, cap;
} lc_tok_heap;

/* Reserve room for cap candidates (grows on push). */
lc_status lc_tok_heap_init(lc_tok_heap *h, size_t cap, lc_error *err);
void lc_tok_heap_free(lc_tok_heap *h);
lc_status lc_tok_heap_push(lc_tok_heap *h, const lc_tok_cand *c, lc_error *err);
/* Pop the best candidate into *c; false when empty. */
bool lc_tok_heap_pop(lc_tok_heap *h, lc_tok_cand *c);

/* True if a popped candidate still describes two live adjacent symbols.
 * Lengths only grow, so if left is alive and len(left) + len(next(left))
 * still equals the size at push time, neither side has changed (had left
 * absorbed the old right, its own length alone would have grown by it). */
static inline bool lc_tok_cand_valid(const lc_tok_sym *s, const lc_tok_cand *c) {
    const lc_tok_sym *l = &s[c->left];
    return l->len > 0 && l->next >= 0 && l->len + s[l->next].len == c->size;
}

/* Merge left's right neighbour into it. */
static inline void lc_tok_sym_merge(lc_tok_sym *s, const lc_tok_cand *c) {
    lc_tok_sym *l = &s[c->left], *r = &s[l->next];
    l->len += r->len;
    l->id = c->id;
    l->next = r->next;
    if (r->next >= 0) s[r->next].prev = c->left;
    r->len = 0;
}

#endif
