/*
 * H2O, the heavy-hitter oracle (Zhang et al., "H2O: Heavy-Hitter Oracle for
 * Efficient Generative Inference of Large Language Models", 2023): a budget
 * of S + R + H slots; when a chunk of n tokens needs room, the n slots with
 * the least accumulated attention are evicted, among those that are neither
 * one of the first S tokens (sinks) nor among the R most recent once the
 * chunk is in. Ties go to the older token.
 *
 * The accumulated attention of a slot is the sum, over every query row that
 * has seen it (prefill and decode), every head and every layer, of its
 * softmax probability p = exp(scale q.k - lse). The runtime computes it from
 * the layer's post-RoPE queries and the log-sum-exp the attention kernel
 * returns: one more pass over the keys, O(n_q * n_kv * n_head * head_dim),
 * only under this policy.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "runtime/kv_cache.h"

static int cand_cmp(const void *pa, const void *pb) {
    const lc_kv_candidate *a = pa, *b = pb;
    if (a->mass != b->mass) return a->mass < b->mass ? -1 : 1;
    if (a->pos != b->pos) return a->pos < b->pos ? -1 : 1;
    return (a->slot > b->slot) - (a->slot < b->slot);
}

static int slot_cmp(const void *pa, const void *pb) {
    const int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

lc_status lc_kv_h2o_evict(lc_kv_cache *c, int64_t n, lc_error *err) {
    const int64_t n_evict = c->n_used + n - c->n_slots;
    int64_t k = 0;
    if (n_evict > 0) {
        /* after the chunk, positions >= recent_from are the R most recent */
        const int64_t recent_from = c->next_pos + n - c->window;
        int64_t nc = 0;
        for (int64_t s = 0; s < c->hw; s++) {
            const int64_t p = c->pos[s];
            if (p < 0 || p < c->n_sinks || p >= recent_from) continue;
            c->cand[nc].mass = c->mass[s];
            c->cand[nc].pos = p;
            c->cand[nc].slot = s;
            nc++;
        }
        if (nc < n_evict)
            return lc_fail(err, LC_ERR_INTERNAL, "h2o: %lld tokens to evict but %lld candidates", (long long)n_evict,
                           (long long)nc);
        if (n_evict == 1) {
            int64_t best = 0;
            for (int64_t i = 1; i < nc; i++)
                if (cand_cmp(&c->cand[i], &c->cand[best]) < 0) best = i;
            c->cand[0] = c->cand[best];
        } else {
            qsort(c->cand, (size_t)nc, sizeof *c->cand, cand_cmp);
        }
        for (int64_t i = 0; i < n_evict; i++) {
            const int64_t s = c->cand[i].slot;
            c->pend[i] = s;
            c->pos[s] = -1;
            c->tok[s] = -1;
            c->mass[s] = 0.0;
        }
        qsort(c->pend, (size_t)n_evict, sizeof *c->pend, slot_cmp);
        c->n_used -= n_evict;
        c->n_discarded += n_evict;
        k = n_evict;
    }
    if (n - k > c->n_slots - c->hw) /* a broken invariant: refuse, never write past the slots */
        return lc_fail(err, LC_ERR_INTERNAL, "h2o: %lld new slots needed past high-water mark %lld of %lld",
                       (long long)(n - k), (long long)c->hw, (long long)c->n_slots);
    for (int64_t i = k; i < n; i++) c->pend[i] = c->hw++;
    return LC_OK;
}

/* Dot product with 8 independent sums (vectorisable without fast-math). */
static float dot(const float *a, const float *b, int32_t n) {
    float s[8] = {0};
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int t = 0; t < 8; t++) s[t] += a[i + t] * b[i + t];
    float r = (s[0] + s[4]) + (s[1] + s[5]) + (s[2] + s[6]) + (s[3] + s[7]);
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

void lc_kv_cache_h2o_accumulate(lc_kv_cache *c, int32_t layer, const float *q, int64_t n_q, int64_t q_pos0,
                                int32_t n_head, const float *lse, float scale) {
    if (!c->mass || n_q < 1) return;
    const int32_t d = c->head_dim, G = n_head / c->n_head_kv;
    const int64_t row = (int64_t)c->n_head_kv * d, n_kv = c->hw, q_last = q_pos0 + n_q - 1;
    const char *kl = c->k + (size_t)layer * (size_t)c->n_slots * c->k_row_bytes;
#pragma omp parallel for num_threads(c->n_threads) schedule(static)
    for (int64_t j = 0; j < n_kv; j++) {
        const int64_t pj = c->pos[j];
        if (pj < 0 || pj > q_last) continue;
        float *kr = c->scratch + (size_t)omp_get_thread_num() * (size_t)row;
        lc_kernel_to_f32(c->k_type, kl + (size_t)j * c->k_row_bytes, kr, row, &c->ko);
        double acc = 0.0;
        for (int64_t i = LC_MAX(0, pj - q_pos0); i < n_q; i++) /* causal: rows at or after pj */
            for (int32_t h = 0; h < n_head; h++) {
                const float l = lse[i * n_head + h];
                if (!isfinite(l)) continue;
                const float s = scale * dot(q + (i * n_head + h) * d, kr + (h / G) * d, d);
                acc += exp((double)s - (double)l);
            }
        c->mass[j] += acc;
    }
}
