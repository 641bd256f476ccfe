/*
 * Streaming perplexity through one context (eval.h, lc_eval_ppl_stream):
 *
 *   tokens t0 t1 t2 ...                                      t(n-1)
 *   chunks [t0 .. t(B-1)] [tB .. t(2B-1)] ...       each lc_context_eval with
 *                                                   every row's logits
 *   score  t(i+1) from the logits of t(i): the row inside the chunk, or the
 *          last row of the previous chunk for a chunk's first token
 *
 * The KV policy decides what each prediction saw; its memory does not grow
 * with n (the logits buffer is [B, vocab], B the context's batch). The
 * bucket of token i+1 is the number of tokens of context t(i) attended to,
 * itself included: what the cache held before it plus one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"


/* Tokens of context (itself included) the query of row i of a chunk attends
 * to, from the cache's state before the chunk. */
static int64_t seen_at(const lc_kv_stats *k, int64_t i) {
    switch (k->policy) {
    case LC_KV_POLICY_WINDOW:
    case LC_KV_POLICY_SINKS: {
        const int64_t p = k->next_pos + i;
        return LC_MIN(p, k->n_sinks) + LC_MIN(LC_MAX(0, p - k->n_sinks), k->window - 1) + 1;
    }
    case LC_KV_POLICY_H2O: return LC_MIN(k->n_used + i, k->n_slots - 1) + 1;
    default: return LC_MIN(k->n_used + i, k->n_slots - 1) + 1;
    }
}

lc_status lc_eval_ppl_stream(lc_context *ctx, const int32_t *tokens, int64_t n, const lc_eval_stream_config *c,
                             lc_eval_ppl_result *out, lc_eval_stream_stats *stats, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "ppl stream: NULL output");
    memset(out, 0, sizeof *out);
    lc_eval_stream_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!ctx || !tokens || n < 2) return lc_fail(err, LC_ERR_INVALID_ARG, "ppl stream: %lld tokens: nothing to score", (long long)n);
    const int32_t vocab = lc_context_model(ctx)->cfg.vocab_size;
    const int64_t B = lc_context_n_batch(ctx);
    lc_kv_stats ks;
    lc_context_kv_stats(ctx, &ks);
    if (ks.policy == LC_KV_POLICY_FULL && n > lc_context_n_ctx(ctx))
        return lc_fail(err, LC_ERR_TOO_LARGE,
                       "ppl stream: %lld tokens do not fit a full cache of %lld; give a streaming --kv-policy "
                       "(window:W, sinks:S:W, shift:KEEP, h2o:S:R:H)",
                       (long long)n, (long long)lc_context_n_ctx(ctx));
    size_t bytes;
    if (!lc_mul3_size((size_t)B, (size_t)vocab, sizeof(float), &bytes))
        return lc_fail(err, LC_ERR_TOO_LARGE, "ppl stream: logits buffer overflows");
    float *logits = malloc(bytes);
    float *prev = malloc((size_t)vocab * sizeof(float));
    if (!logits || !prev) {
        free(logits);
        free(prev);
        return lc_fail(err, LC_ERR_NOMEM, "ppl stream: out of memory");
    }
    lc_context_reset(ctx);
    stats->rss_start = lc_rss_bytes();
    const double t0 = lc_time_now();
    const int64_t tenth = LC_MAX(1, n / 10);
    double t_first_end = 0, t_last_start = 0;
    int64_t ctx_prev = 0; /* tokens of context the previous token attended to */
    lc_status st = LC_OK;
    for (int64_t c0 = 0; c0 < n && st == LC_OK; c0 += B) {
        const int64_t nb = LC_MIN(B, n - c0);
        if (c0 <= n - tenth && c0 + nb > n - tenth) t_last_start = lc_time_now();
        lc_context_kv_stats(ctx, &ks);
        st = lc_context_eval(ctx, tokens + c0, nb, logits, true, err);
        if (st != LC_OK) break;
        for (int64_t i = 0; i < nb; i++) {
            const int64_t j = c0 + i; /* token scored: j, from the logits of j-1 */
            if (j > 0) {
                const float *row = i == 0 ? prev : logits + (i - 1) * vocab;
                const int64_t seen = i == 0 ? ctx_prev : seen_at(&ks, i - 1);
                const double v = -lc_eval_log_prob(row, vocab, tokens[j]);
                const int b = lc_eval_bucket(LC_MAX(1, seen));
                out->nll += v;
                out->n_scored++;
                if (b < LC_EVAL_MAX_BUCKETS) {
                    out->bucket_nll[b] += v;
                    out->bucket_count[b]++;
                }
            }
        }
        /* the last row predicts the next chunk's first token */
        memcpy(prev, logits + (nb - 1) * vocab, (size_t)vocab * sizeof(float));
        ctx_prev = seen_at(&ks, nb - 1);
        if (c0 < tenth && c0 + nb >= tenth) t_first_end = lc_time_now();
        if (c && c->progress && !c->progress(c->progress_user, (double)(c0 + nb), (double)n, "ppl stream"))
            st = lc_fail(err, LC_ERR_CANCELLED, "ppl stream: cancelled");
    }
    const double t1 = lc_time_now();
    stats->rss_end = lc_rss_bytes();
    free(logits);
    free(prev);
    if (st != LC_OK) return st;
    out->window = lc_context_n_ctx(ctx);
    out->stride = 1;
    out->n_windows = 1;
    out->n_evaluated = n;
    out->ppl = exp(out->nll / (double)out->n_scored);
    for (int b = 0; b < LC_EVAL_MAX_BUCKETS; b++)
        if (out->bucket_count[b] > 0) out->n_buckets = b + 1;
    out->seconds = t1 - t0;
    stats->tokens_per_s = out->seconds > 0 ? (double)n / out->seconds : 0;
    if (t_first_end > t0) stats->tokens_per_s_first = (double)LC_MIN(n, ((tenth + B - 1) / B) * B) / (t_first_end - t0);
    if (t_last_start > 0 && t1 > t_last_start) stats->tokens_per_s_last = (double)(n - (n - tenth) / B * B) / (t1 - t_last_start);
    return LC_OK;
}
