/* Microseconds per sampled token (bench.h, lc_bench_sample_chains) for
 * several sampler chains at one vocabulary size, against a naive baseline
 * that sorts the whole vocabulary every token: what `longctx bench sample`
 * measures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/bench.h"

#define N_LOGIT_SETS 8

typedef struct {
    float logit;
    int32_t id;
} pair;

static int cmp_pair(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The naive way: sort everything, top-k 40, softmax, top-p 0.95, draw. */
static int32_t naive_sample(const float *logits, int32_t V, pair *tmp, lc_rng *r) {
    for (int32_t i = 0; i < V; i++) tmp[i] = (pair){logits[i], i};
    qsort(tmp, (size_t)V, sizeof *tmp, cmp_pair);
    int32_t n = LC_MIN(40, V);
    double z = 0.0, cum = 0.0;
    for (int32_t i = 0; i < n; i++) z += exp(((double)tmp[i].logit - tmp[0].logit) / 0.8);
    int32_t keep = n;
    for (int32_t i = 0; i < n; i++) {
        cum += exp(((double)tmp[i].logit - tmp[0].logit) / 0.8);
        if (cum >= 0.95 * z) {
            keep = i + 1;
            break;
        }
    }
    double u = lc_rng_uniform(r) * cum;
    double c = 0.0;
    for (int32_t i = 0; i < keep; i++) {
        c += exp(((double)tmp[i].logit - tmp[0].logit) / 0.8);
        if (c > u) return tmp[i].id;
    }
    return tmp[keep - 1].id;
}

typedef struct {
    const char *name;
    lc_sampler_params p;
    bool naive;
} chain;

static int make_chains(const lc_sampler_params *custom, chain *chains) {
    int n = 0;
    lc_sampler_params p;
    lc_sampler_params_init(&p);
    p.temp = 0.0f;
    chains[n++] = (chain){"greedy", p, false};
    lc_sampler_params_init(&p);
    chains[n++] = (chain){"default (k40 p.95 minp.05 t.8)", p, false};
    p.repeat_penalty = 1.1f;
    chains[n++] = (chain){"default + repeat penalty 1.1/64", p, false};
    lc_sampler_params_init(&p);
    p.top_k = 0, p.min_p = 0.0f;
    chains[n++] = (chain){"top-p 0.95 alone", p, false};
    lc_sampler_params_init(&p);
    p.top_k = 0, p.top_p = 1.0f;
    chains[n++] = (chain){"min-p 0.05 alone", p, false};
    lc_sampler_params_init(&p);
    p.top_k = 0, p.top_p = 1.0f, p.min_p = 0.0f, p.temp = 1.0f;
    chains[n++] = (chain){"temperature 1 alone", p, false};
    if (custom) chains[n++] = (chain){"the given options", *custom, false};
    chains[n++] = (chain){"naive: full sort + k40 p.95", p, true};
    return n;
}

/* Best seconds of reps passes of n_iter tokens with chain c into row. */
static lc_status time_chain(const chain *c, const float *logits, int32_t V, int n_iter, int reps, pair *tmp,
                            lc_rng *r, lc_bench_sample_row *row, lc_error *err) {
    lc_sampler *s = NULL;
    lc_status st = c->naive ? LC_OK : lc_sampler_create(&c->p, V, &s, err);
    double best = INFINITY;
    int32_t tok = 0;
    for (int k = 0; k < reps && st == LC_OK; k++) {
        const double t0 = lc_time_now();
        for (int it = 0; it < n_iter && st == LC_OK; it++) {
            const float *l = logits + (size_t)(it % N_LOGIT_SETS) * V;
            if (c->naive) tok = naive_sample(l, V, tmp, r);
            else st = lc_sampler_sample(s, l, &tok, err);
        }
        best = fmin(best, lc_time_now() - t0);
    }
    row->chain = c->name;
    row->us_per_token = best / n_iter * 1e6;
    row->last_candidates = s ? lc_sampler_candidates(s, NULL, NULL) : 0;
    lc_sampler_free(s);
    return st;
}

lc_status lc_bench_sample_chains(int32_t vocab, float scale, int n_iter, int reps, const lc_sampler_params *custom,
                                 lc_bench_sample_row rows[LC_BENCH_SAMPLE_MAX_CHAINS], int *n_rows, lc_error *err) {
    if (!rows || !n_rows) return lc_fail(err, LC_ERR_INVALID_ARG, "bench sample: NULL argument");
    *n_rows = 0;
    if (vocab < 1 || vocab > (1 << 24) || n_iter < 1 || reps < 1 || !(scale > 0.0f) || !isfinite(scale))
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench sample: vocabulary %d, %d tokens x %d, scale %g", (int)vocab,
                       n_iter, reps, (double)scale);
    chain chains[LC_BENCH_SAMPLE_MAX_CHAINS];
    const int n_chains = make_chains(custom, chains);
    float *logits = malloc((size_t)vocab * N_LOGIT_SETS * sizeof(float));
    pair *tmp = malloc((size_t)vocab * sizeof(pair));
    lc_status st = LC_OK;
    if (!logits || !tmp) st = lc_fail(err, LC_ERR_NOMEM, "bench sample: out of memory");
    lc_rng r;
    lc_rng_seed(&r, 1);
    for (size_t i = 0; st == LC_OK && i < (size_t)vocab * N_LOGIT_SETS; i++) logits[i] = lc_rng_normal(&r) * scale;
    for (int c = 0; c < n_chains && st == LC_OK; c++) {
        st = time_chain(&chains[c], logits, vocab, n_iter, reps, tmp, &r, &rows[c], err);
        if (st == LC_OK) *n_rows = c + 1;
    }
    free(logits);
    free(tmp);
    return st;
}
