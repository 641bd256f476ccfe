/*
 * Internal: the sampler object and the candidate selection helpers shared by
 * sampler.c, sample_select.c and sample_state.c.
 */
#ifndef LC_SAMPLE_INTERNAL_H
#define LC_SAMPLE_INTERNAL_H

#include "common/util.h"
#include "longctx/sample.h"
#include "longctx/sys.h"

/* A candidate token: its (penalised, filtered) logit and id. */
typedef struct {
    float logit;
    int32_t id;
} lc_cand;

struct lc_sampler {
    lc_sampler_params p;
    int32_t n_vocab;
    lc_rng rng;
    uint64_t n_sampled;
    int32_t hist[LC_SAMPLER_MAX_LAST_N]; /* ring of recent tokens          */
    int32_t hist_head;                   /* slot of the oldest token        */
    int32_t hist_len;                    /* tokens held (<= MAX_LAST_N)     */
    int32_t pen_tmp[LC_SAMPLER_MAX_LAST_N]; /* window copy for counting     */
    float *scratch;                      /* [n_vocab] copy of the logits    */
    lc_cand *cand;                       /* [n_vocab] surviving candidates  */
    int32_t *cand_ids;                   /* [n_vocab] ids of the last draw  */
    float *cand_probs;                   /* [n_vocab] their probabilities   */
    int32_t n_cand;                      /* candidates of the last draw     */
    lc_isa isa;                          /* scan kernel tier (at creation)  */
    lc_sampler_constraint con;           /* see lc_sampler_set_constraint   */
    bool has_con;
};

/* a ranks before b: larger logit, then lower id. */
static inline bool lc_cand_better(lc_cand a, lc_cand b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

/* The k best of logits[0..n) that are > -inf, written to out in rank order
 * (best first) with a k-heap: O(n log k) worst case, O(n) typical.
 * Returns the count written: min(k, number of logits > -inf). */
int32_t lc_sample_top_k(const float *logits, int32_t n, int32_t k, lc_cand *out);

/* Scan a logits row: max (ignoring NaN), count of -inf, any NaN or +inf. */
void lc_sample_scan(const float *x, int32_t n, float *mx, int32_t *masked, bool *bad);
#if defined(LC_HAVE_X86)
void lc_sample_scan_avx2(const float *x, int32_t n, float *mx, int32_t *masked, bool *bad);
#endif

/* Top-p over every finite logit (max mx): the smallest rank-ordered prefix
 * whose softmax mass reaches p, written to out in rank order; returns its
 * length. Sorts only about the nucleus (bucketed by logit first). */
int32_t lc_sample_top_p(const float *logits, int32_t n, float mx, double p, lc_cand *out);

#endif
