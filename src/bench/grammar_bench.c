/* The cost of constrained sampling per token (bench.h, lc_bench_grammar):
 * the plain sampler, the sampler with a grammar attached (lazy: the drawn
 * token is checked, the vocabulary masked only when it is refused) and a full
 * vocabulary mask every step, on random logits over a real vocabulary: what
 * `longctx bench grammar` measures. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/bench.h"

static int cmp_d(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* min / median / max / mean of n seconds, in microseconds (v is sorted). */
static lc_bench_us stats(double *v, int n) {
    lc_bench_us s = {0, 0, 0, 0};
    if (n == 0) return s;
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += v[i];
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    s.min = v[0] * 1e6;
    s.median = v[n / 2] * 1e6;
    s.max = v[n - 1] * 1e6;
    s.mean = sum / n * 1e6;
    return s;
}

typedef struct {
    float *logits;
    uint8_t *allowed;
    double *t_plain, *t_con, *t_mask;
} bufs;

static lc_status steps(const lc_tokenizer *tok, lc_sampler *plain, lc_sampler *con, lc_grammar_state *gs, int n_steps,
                       bufs *b, lc_bench_grammar_result *out, lc_error *err) {
    const int32_t V = lc_tokenizer_n_vocab(tok), eos = lc_tokenizer_eos(tok);
    lc_rng r;
    lc_rng_seed(&r, 1);
    int len = 0;
    int64_t allowed_sum = 0;
    lc_grammar_stats g0, g1;
    lc_grammar_state_stats(gs, &g0);
    lc_status st = LC_OK;
    for (int step = 0; step < n_steps; step++) {
        for (int32_t i = 0; i < V; i++) b->logits[i] = lc_rng_uniform(&r) * 8.0f;
        int32_t t, n_allowed = 0;
        const double t0 = lc_time_now();
        if ((st = lc_sampler_sample(plain, b->logits, &t, err)) != LC_OK) return st;
        const double t1 = lc_time_now();
        if ((st = lc_grammar_allowed_tokens(gs, b->allowed, &n_allowed, err)) != LC_OK) return st;
        const double t2 = lc_time_now();
        if ((st = lc_sampler_sample(con, b->logits, &t, err)) != LC_OK) return st;
        const double t3 = lc_time_now();
        b->t_plain[step] = t1 - t0;
        b->t_mask[step] = t2 - t1;
        b->t_con[step] = t3 - t2;
        allowed_sum += n_allowed;
        len++;
        if (t == eos || len >= 4000) {
            out->sentences += t == eos;
            len = 0;
            if ((st = lc_grammar_state_reset(gs, err)) != LC_OK) return st;
        }
    }
    lc_grammar_state_stats(gs, &g1);
    /* the eager masks above count too: take them out */
    out->mask_fraction = (double)(g1.n_masks - g0.n_masks - n_steps) / n_steps;
    out->mean_allowed = (double)allowed_sum / n_steps;
    out->plain = stats(b->t_plain, n_steps);
    out->constrained = stats(b->t_con, n_steps);
    out->full_mask = stats(b->t_mask, n_steps);
    return LC_OK;
}

lc_status lc_bench_grammar(const lc_tokenizer *tok, const lc_sampler_params *sp, lc_sampler *constrained,
                           lc_grammar_state *gs, int n_steps, lc_bench_grammar_result *out, lc_error *err) {
    if (!tok || !sp || !constrained || !gs || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "bench grammar: NULL argument");
    if (n_steps < 1) return lc_fail(err, LC_ERR_INVALID_ARG, "bench grammar: %d steps", n_steps);
    memset(out, 0, sizeof *out);
    const int32_t V = lc_tokenizer_n_vocab(tok);
    out->steps = n_steps, out->n_vocab = V;
    lc_sampler *plain = NULL;
    lc_status st = lc_sampler_create(sp, V, &plain, err);
    if (st != LC_OK) return st;
    bufs b = {malloc((size_t)V * sizeof(float)), malloc((size_t)V), malloc((size_t)n_steps * sizeof(double)),
              malloc((size_t)n_steps * sizeof(double)), malloc((size_t)n_steps * sizeof(double))};
    if (!b.logits || !b.allowed || !b.t_plain || !b.t_con || !b.t_mask)
        st = lc_fail(err, LC_ERR_NOMEM, "out of memory");
    else
        st = steps(tok, plain, constrained, gs, n_steps, &b, out, err);
    free(b.logits), free(b.allowed), free(b.t_plain), free(b.t_con), free(b.t_mask);
    lc_sampler_free(plain);
    return st;
}
