/*
 * A decode product's work list: items [0, n) cut into one contiguous range
 * per thread. The owner takes its range's items from the front, in order
 * (the item after the one it works on is the one its kernels prefetch
 * into), and a thread whose own range is empty steals from the backs of the
 * others', so a thread that starts late (woken from sleep) or loses its core
 * to another process does not hold the product up at its end. Each range is
 * front | back << 32 in one atomic word on its own cache line.
 *
 * Used by the f32/f16/bf16 decode rows (src/kernels/matmul.c) and the
 * quantised decode tiles (src/quant/qk_matmul.c).
 */
#ifndef LC_COMMON_WORK_RANGES_H
#define LC_COMMON_WORK_RANGES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Ranges at most (more threads than this share them: thread i starts in
 * range i % n). */
#define LC_WORK_MAX_RANGES 64

typedef struct {
    _Alignas(64) _Atomic uint64_t fb;
} lc_work_range;

/* nq ranges (1..LC_WORK_MAX_RANGES) over items [0, items), items < 2^32:
 * range i holds [items * i / nq, items * (i + 1) / nq). */
static inline void lc_work_ranges_init(lc_work_range *r, int64_t items, int nq) {
    for (int i = 0; i < nq; i++)
        atomic_store_explicit(&r[i].fb,
                              (uint64_t)(items * i / nq) | (uint64_t)(items * (i + 1) / nq) << 32,
                              memory_order_relaxed);
}

/* The most items an owner claims from its own front at once, and the share
 * of what is left that one claim takes (one locked compare-exchange per
 * claim rather than per item: a locked instruction per 64 KiB item cost
 * 5-6 % of a 32 MiB f16 product's bandwidth on Zen 5; the claims shrink to
 * one item as the range empties, so the thieves still find work at its end). */
#define LC_WORK_CLAIM_MAX 16
#define LC_WORK_CLAIM_DIV 8

/* Items of range q: from its front, [*first, *first + n) with n up to
 * what is left / LC_WORK_CLAIM_DIV (at least 1, at most LC_WORK_CLAIM_MAX);
 * from its back, the last one. The count taken, 0 when the range is empty. */
static inline int64_t lc_work_range_take(lc_work_range *q, bool front, int64_t *first) {
    uint64_t s = atomic_load_explicit(&q->fb, memory_order_relaxed);
    for (;;) {
        const uint64_t f = s & 0xffffffffu, b = s >> 32;
        if (f >= b) return 0;
        uint64_t g = 1;
        if (front) {
            g = (b - f) / LC_WORK_CLAIM_DIV;
            g = g < 1 ? 1 : g > LC_WORK_CLAIM_MAX ? LC_WORK_CLAIM_MAX : g;
        }
        const uint64_t n = front ? (f + g) | (b << 32) : f | ((b - 1) << 32);
        if (atomic_compare_exchange_weak_explicit(&q->fb, &s, n, memory_order_relaxed, memory_order_relaxed)) {
            *first = front ? (int64_t)f : (int64_t)(b - 1);
            return (int64_t)g;
        }
    }
}

/* A thread's walk over the ranges: the range it is on (0: its own) and the
 * items it has claimed and not yet returned, [cur, end). */
typedef struct {
    int k;
    int64_t cur, end;
} lc_work_cursor;

#define LC_WORK_CURSOR_INIT {0, 0, 0}

/* Thread me's next item among nq ranges: the front of its own range
 * (me % nq) first, a claim at a time, then the backs of the others' in
 * turn; -1 when every range is empty. c->k == 0 after a call means the item
 * is the thread's own (the item after it in its range is the one it reads
 * next). Every thread visits all nq ranges, so that fewer threads than
 * ranges (OpenMP granting fewer than asked for) still leave no item undone. */
static inline int64_t lc_work_next(lc_work_range *r, int nq, int me, lc_work_cursor *c) {
    if (c->cur < c->end) return c->cur++;
    for (; c->k < nq; c->k++) {
        int64_t first;
        const int64_t n = lc_work_range_take(&r[(me + c->k) % nq], c->k == 0, &first);
        if (n > 0) {
            c->cur = first + 1;
            c->end = first + n;
            return first;
        }
    }
    return -1;
}

#endif
