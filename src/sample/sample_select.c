/*
 * Top-k selection without a full sort: a heap of the k best candidates seen
 * so far, whose root is the worst of them. A new logit only costs one
 * comparison against the root unless it enters the heap, so a scan of a
 * 128K vocabulary is O(V) in practice and O(V log k) at worst; the k kept
 * are then heap-sorted into rank order.
 */
#include <math.h>
#include <stdlib.h>

#include "sample/sample_internal.h"

/* a is worse than b (ranks after it). */
static inline bool worse(lc_cand a, lc_cand b) { return lc_cand_better(b, a); }

static void sift_up(lc_cand *h, int32_t i) {
    while (i > 0) {
        int32_t parent = (i - 1) / 2;
        if (!worse(h[i], h[parent])) break;
        lc_cand t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

static void sift_down(lc_cand *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && worse(h[l], h[w])) w = l;
        if (r < n && worse(h[r], h[w])) w = r;
        if (w == i) return;
        lc_cand t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

int32_t lc_sample_top_k(const float *logits, int32_t n, int32_t k, lc_cand *out) {
    if (k <= 0) return 0;
    int32_t m = 0;
    for (int32_t id = 0; id < n; id++) {
        const float v = logits[id];
        if (v == -INFINITY) continue;
        const lc_cand c = {v, id};
        if (m < k) {
            out[m] = c;
            sift_up(out, m);
            m++;
        } else if (v > out[0].logit) { /* equal logits lose: their id is larger */
            out[0] = c;
            sift_down(out, m, 0);
        }
    }
    /* Heap sort: move the worst to the end repeatedly -> best first. */
    for (int32_t end = m - 1; end > 0; end--) {
        lc_cand t = out[0];
        out[0] = out[end];
        out[end] = t;
        sift_down(out, end, 0);
    }
    return m;
}

/* ---- Top-p without sorting the vocabulary ----------------------------------
 * One pass buckets every finite logit by its distance below the max
 * (TOP_P_BUCKETS buckets of 1/32 nat, the last one open-ended) and sums the
 * softmax mass per bucket; the buckets are walked from the top until the mass
 * reaches p; only the tokens of those buckets (plus one more bucket as a
 * margin against rounding) are collected and sorted, and the exact prefix is
 * taken from them. Cost O(V) plus a sort of about the nucleus. */
#define TOP_P_BUCKETS 1024
#define TOP_P_PER_NAT 32.0

static int bucket_of(float v, float mx) {
    const double d = ((double)mx - (double)v) * TOP_P_PER_NAT;
    return d >= TOP_P_BUCKETS - 1 ? TOP_P_BUCKETS - 1 : (int)d;
}

static int cmp_rank(const void *a, const void *b) {
    const lc_cand *x = a, *y = b;
    return lc_cand_better(*x, *y) ? -1 : lc_cand_better(*y, *x) ? 1 : 0;
}

int32_t lc_sample_top_p(const float *logits, int32_t n, float mx, double p, lc_cand *out) {
    double mass[TOP_P_BUCKETS] = {0};
    double z = 0.0;
    for (int32_t i = 0; i < n; i++) {
        const float v = logits[i];
        if (v == -INFINITY) continue;
        const double e = exp((double)v - (double)mx);
        z += e;
        mass[bucket_of(v, mx)] += e;
    }
    const double target = p * z;
    double cum = 0.0;
    int last = 0;
    while (last < TOP_P_BUCKETS - 1 && (cum += mass[last]) < target) last++;
    if (last < TOP_P_BUCKETS - 1) last++; /* margin */
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        const float v = logits[i];
        if (v != -INFINITY && bucket_of(v, mx) <= last) out[m++] = (lc_cand){v, i};
    }
    qsort(out, (size_t)m, sizeof *out, cmp_rank);
    cum = 0.0;
    for (int32_t i = 0; i < m; i++) {
        cum += exp((double)out[i].logit - (double)mx);
        if (cum >= target) return i + 1;
    }
    return m;
}
