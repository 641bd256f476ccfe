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

/* An item of range q, from its front (or its back): its index, or -1 when
 * the range is empty. */
static inline int64_t lc_work_range_take(lc_work_range *q, bool front) {
    uint64_t s = atomic_load_explicit(&q->fb, memory_order_relaxed);
    for (;;) {
        const uint64_t f = s & 0xffffffffu, b = s >> 32;
        if (f >= b) return -1;
        const uint64_t n = front ? (f + 1) | (b << 32) : f | ((b - 1) << 32);
        if (atomic_compare_exchange_weak_explicit(&q->fb, &s, n, memory_order_relaxed, memory_order_relaxed))
            return front ? (int64_t)f : (int64_t)(b - 1);
    }
}

/* Thread me's next item among nq ranges: the front of its own range
 * (me % nq) first, then the backs of the others' in turn; -1 when every
 * range is empty. *k is the walk's state (0 before the first call; 0 after
 * a call means the item is the thread's own). Every thread visits all nq
 * ranges, so that fewer threads than ranges (OpenMP granting fewer than
 * asked for) still leave no item undone. */
static inline int64_t lc_work_next(lc_work_range *r, int nq, int me, int *k) {
    for (; *k < nq; (*k)++) {
        const int64_t c = lc_work_range_take(&r[(me + *k) % nq], *k == 0);
        if (c >= 0) return c;
    }
    return -1;
}

#endif
