/* A KV cache policy over a long token stream (bench.h, lc_bench_kv_stream):
 * what `longctx bench kv` measures. Synthetic tokens stream through one
 * context in prefill chunks; at each checkpoint, rounds of decoding alternate
 * between it and a baseline context that holds only the first checkpoint's
 * tokens, so that a busy machine slows both alike: their ratio is the figure. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/bench.h"

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Decode n random tokens one at a time; tokens/s, or -1 (err set). */
static double decode(lc_context *ctx, lc_rng *rng, int32_t V, int64_t n, lc_error *err) {
    const double d0 = lc_time_now();
    for (int64_t i = 0; i < n; i++) {
        int32_t t = (int32_t)lc_rng_below(rng, (uint64_t)V);
        if (lc_context_eval(ctx, &t, 1, NULL, false, err) != LC_OK) return -1;
    }
    return (double)n / (lc_time_now() - d0);
}

typedef struct {
    lc_progress_fn fn;
    void *user;
    int64_t total;
} progress;

/* Feed synthetic tokens until the context has seen `to`. */
static lc_status stream_to(lc_context *ctx, lc_rng *rng, int32_t V, int32_t *buf, int64_t B, int64_t to,
                           const progress *prog, lc_error *err) {
    while (lc_context_n_seen(ctx) < to) {
        const int64_t nb = LC_MIN(B, to - lc_context_n_seen(ctx));
        for (int64_t i = 0; i < nb; i++) buf[i] = (int32_t)lc_rng_below(rng, (uint64_t)V);
        lc_status st = lc_context_eval(ctx, buf, nb, NULL, false, err);
        if (st != LC_OK) return st;
        if (prog && prog->fn && !prog->fn(prog->user, (double)lc_context_n_seen(ctx), (double)prog->total, "stream"))
            return lc_fail(err, LC_ERR_CANCELLED, "bench kv: cancelled");
    }
    return LC_OK;
}

/* The rounds at one checkpoint: medians and best into r. */
static lc_status rounds(lc_context *ctx, lc_context *base, lc_rng *rng, lc_rng *brng, int32_t V,
                        const lc_bench_kv_spec *s, lc_bench_kv_row *r, lc_error *err) {
    double tps[LC_BENCH_KV_MAX_REPEAT], bps[LC_BENCH_KV_MAX_REPEAT], ratio[LC_BENCH_KV_MAX_REPEAT];
    const int64_t repeat = s->repeat;
    for (int64_t rep = 0; rep < repeat; rep++) { /* alternate: base, stream */
        bps[rep] = decode(base, brng, V, s->n_decode, err);
        tps[rep] = bps[rep] > 0 ? decode(ctx, rng, V, s->n_decode, err) : -1;
        if (tps[rep] < 0) return err ? err->status : LC_ERR_INVALID_ARG;
        ratio[rep] = tps[rep] / bps[rep];
    }
    qsort(tps, (size_t)repeat, sizeof tps[0], cmp_double);
    qsort(bps, (size_t)repeat, sizeof bps[0], cmp_double);
    qsort(ratio, (size_t)repeat, sizeof ratio[0], cmp_double);
    r->best = tps[repeat - 1];
    r->median = tps[repeat / 2];
    r->base_median = bps[repeat / 2];
    r->ratio = ratio[repeat / 2];
    r->rss = lc_rss_bytes();
    lc_context_kv_stats(ctx, &r->kv);
    return LC_OK;
}

lc_status lc_bench_kv_spec_check(const lc_bench_kv_spec *s, lc_error *err) {
    if (!s || !s->at) return lc_fail(err, LC_ERR_INVALID_ARG, "bench kv: no spec");
    if (s->n_at < 1 || s->n_at > LC_BENCH_KV_MAX_AT || s->repeat < 1 || s->repeat > LC_BENCH_KV_MAX_REPEAT ||
        s->n_decode < 1)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench kv: %d checkpoints, %lld rounds of %lld tokens", s->n_at,
                       (long long)s->repeat, (long long)s->n_decode);
    for (int i = 0; i < s->n_at; i++)
        if (s->at[i] < 0 || (i > 0 && s->at[i] <= s->at[i - 1]))
            return lc_fail(err, LC_ERR_INVALID_ARG, "--at: checkpoints must increase");
    int64_t stream = 0;
    if (lc_bench_kv_stream_tokens(s, &stream) != LC_OK)
        return lc_fail(err, LC_ERR_TOO_LARGE, "--at %lld plus %lld x %lld decode tokens is more than %lld tokens",
                       (long long)s->at[s->n_at - 1], (long long)s->repeat, (long long)s->n_decode,
                       (long long)LC_CONTEXT_MAX_TOKENS);
    return LC_OK;
}

lc_status lc_bench_kv_stream_tokens(const lc_bench_kv_spec *s, int64_t *tokens) {
    int64_t n = 0;
    if (!s || s->n_at < 1 || !lc_mul_ok(s->repeat, s->n_decode, 0, LC_CONTEXT_MAX_TOKENS, &n) ||
        !lc_add_ok(s->at[s->n_at - 1], n, 0, LC_CONTEXT_MAX_TOKENS, &n))
        return LC_ERR_TOO_LARGE;
    *tokens = n;
    return LC_OK;
}

lc_status lc_bench_kv_stream(lc_context *ctx, lc_context *base, const lc_bench_kv_spec *s, lc_bench_kv_row *rows,
                             lc_error *err) {
    if (!ctx || !base || !s || !rows) return lc_fail(err, LC_ERR_INVALID_ARG, "bench kv: NULL argument");
    lc_status st = lc_bench_kv_spec_check(s, err);
    if (st != LC_OK) return st;
    if (lc_context_n_seen(ctx) != 0 || lc_context_n_seen(base) != 0)
        return lc_fail(err, LC_ERR_INVALID_ARG, "bench kv: the contexts must be new");
    const int64_t B = lc_context_n_batch(ctx);
    int32_t *buf = malloc((size_t)B * sizeof(int32_t));
    if (!buf) return lc_fail(err, LC_ERR_NOMEM, "bench kv: out of memory");
    lc_rng rng, brng;
    lc_rng_seed(&rng, s->seed);
    lc_rng_seed(&brng, s->seed + 1);
    const int32_t V = lc_context_model(ctx)->cfg.vocab_size;
    const progress prog = {s->progress, s->progress_user, s->at[s->n_at - 1]};
    st = stream_to(base, &brng, V, buf, B, s->at[0], NULL, err);
    for (int k = 0; k < s->n_at && st == LC_OK; k++) {
        lc_bench_kv_row *r = &rows[k];
        memset(r, 0, sizeof *r);
        const double t0 = lc_time_now();
        const int64_t from = lc_context_n_seen(ctx);
        if ((st = stream_to(ctx, &rng, V, buf, B, s->at[k], &prog, err)) != LC_OK) break;
        const double dt = lc_time_now() - t0;
        r->prefill_tok_s = dt > 0 && s->at[k] > from ? (double)(s->at[k] - from) / dt : 0;
        r->at = lc_context_n_seen(ctx);
        st = rounds(ctx, base, &rng, &brng, V, s, r, err);
    }
    free(buf);
    return st;
}

lc_status lc_bench_kv_run(const lc_model *m, const lc_context_opts *opts, const lc_bench_kv_spec *s,
                          const char *model_path, lc_bench_kv_row *rows, lc_table **info, lc_error *err) {
    if (info) *info = NULL;
    if (!m || !opts || !s || !rows) return lc_fail(err, LC_ERR_INVALID_ARG, "bench kv: NULL argument");
    lc_status st = lc_bench_kv_spec_check(s, err);
    if (st != LC_OK) return st;
    lc_context_opts co = *opts;
    int64_t stream = 0;
    lc_bench_kv_stream_tokens(s, &stream); /* checked above */
    if (co.kv_policy == LC_KV_POLICY_FULL && co.n_ctx < stream) co.n_ctx = stream;
    lc_context *ctx = NULL, *base = NULL;
    st = lc_context_create(m, &co, &ctx, err);
    if (st == LC_OK) st = lc_context_create(m, &co, &base, err);
    if (st == LC_OK) st = lc_bench_kv_stream(ctx, base, s, rows, err);
    if (st == LC_OK && info) st = lc_bench_kv_info(model_path, ctx, s, info, err);
    lc_context_free(base);
    lc_context_free(ctx);
    return st;
}
