/*
 * Internal: the sampler object and the candidate selection helpers shared by
 * sampler.c, sample_select.c and sample_state.c.
 */
#ifndef LC_SAMPLE_INTERNAL_H
#define LC_SAMPLE_INTERNAL_H

#include "common/util.h"
#include "longctx/sample.h"

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
};

/* a ranks before b: larger logit, then lower id. */
static inline bool lc_cand_better(lc_cand a, lc_cand b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

/* The k best of logits[0..n) that are > -inf, written to out in rank order
 * (best first) with a k-heap: O(n log k) worst case, O(n) typical.
 * Returns the count written (min(k, finite-or-+... candidates)). */
int32_t lc_sample_top_k(const float *logits, int32_t n, int32_t k, lc_cand *out);

#endif
