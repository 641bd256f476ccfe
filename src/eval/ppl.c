/*
 * Perplexity with a sliding window (the plan is in eval.h):
 *
 *   tokens  t0 t1 t2 ...                                      t(n-1)
 *   win 0   [t0 ............ t(W-1)]             scores t1 .. t(W-1)
 *   win 1        [tS ............ t(S+W-1)]      scores t(W) .. t(S+W-1)
 *   win 2             [t2S ........ t(2S+W-1)]   ...
 *
 * A token at window position i (i tokens before it in the window) is
 * predicted from i tokens of context; its loss goes to bucket
 * lc_eval_bucket(i): 1 | 2-3 | 4-7 | ... so the bucket means show whether
 * distant context helps.
 *
 * Context handling lives in one function, score_window: every window is a
 * fresh sequence (reset, append_logprobs). A streaming KV policy (sliding
 * window / attention sinks / context shift) would replace it by appending
 * each window's new tokens to one long-lived sequence, with the position in
 * the window becoming the tokens the context holds: the plan, the
 * bookkeeping and the buckets stay as they are.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_internal.h"

bool lc_eval_ppl_window(int64_t n, int64_t W, int64_t S, int64_t k, lc_eval_window *win) {
    if (n < 2 || W < 2 || S < 1 || S > W - 1 || k < 0) return false;
    int64_t start, prev_end = 1;
    if (!lc_mul_i64(k, S, &start) || start >= n) return false;
    if (k > 0) { /* window k exists iff window k-1 ended before n */
        const int64_t prev_start = start - S;
        prev_end = prev_start > n - W ? n : prev_start + W;
        if (prev_end >= n) return false;
    }
    win->start = start;
    win->end = start > n - W ? n : start + W;
    win->score_from = LC_MAX(prev_end, start + 1);
    return true;
}

typedef struct {
    double nll;
    int64_t n;
    double bucket_nll[LC_EVAL_MAX_BUCKETS];
    int64_t bucket_count[LC_EVAL_MAX_BUCKETS];
} ppl_acc;

/* The one place that decides what the model's sequence holds: window win of
 * tokens, as a fresh sequence. lp [W] scratch. */
static lc_status score_window(lc_eval_model *m, const int32_t *tokens, const lc_eval_window *win, float *lp,
                              ppl_acc *acc, lc_error *err) {
    m->ops->reset(m);
    lc_status st = m->ops->append_logprobs(m, tokens + win->start, win->end - win->start, lp, err);
    if (st != LC_OK) return st;
    for (int64_t j = win->score_from; j < win->end; j++) {
        const int64_t i = j - win->start; /* tokens of context */
        const double v = -(double)lp[i];
        if (isnan(v))
            return lc_fail(err, LC_ERR_INTERNAL, "ppl: the model gave no log-probability for token %lld",
                           (long long)j);
        const int b = lc_eval_bucket(i);
        acc->nll += v;
        acc->n++;
        acc->bucket_nll[b] += v;
        acc->bucket_count[b]++;
    }
    return LC_OK;
}

lc_status lc_eval_ppl_run(lc_eval_model *m, const int32_t *tokens, int64_t n, const lc_eval_ppl_config *c,
                          lc_eval_ppl_result *out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "ppl: NULL output");
    memset(out, 0, sizeof *out);
    if (!m || !m->ops || !m->ops->reset || !m->ops->append_logprobs || !c)
        return lc_fail(err, LC_ERR_INVALID_ARG, "ppl: no model or configuration");
    if (!tokens || n < 2) return lc_fail(err, LC_ERR_INVALID_ARG, "ppl: %lld tokens: nothing to score", (long long)n);
    const int64_t W = c->window, S = c->stride > 0 ? c->stride : c->window - 1;
    if (W < 2) return lc_fail(err, LC_ERR_INVALID_ARG, "ppl: window %lld (need >= 2)", (long long)W);
    if (S < 1 || S > W - 1)
        return lc_fail(err, LC_ERR_INVALID_ARG,
                       "ppl: stride %lld outside 1..%lld (window - 1, so that windows overlap by a token and every "
                       "token is scored)",
                       (long long)S, (long long)(W - 1));
    if (W > m->n_ctx)
        return lc_fail(err, LC_ERR_TOO_LARGE, "ppl: window %lld does not fit a context of %lld; raise -c",
                       (long long)W, (long long)m->n_ctx);
    if (W > n)
        return lc_fail(err, LC_ERR_INVALID_ARG, "ppl: window %lld is longer than the text (%lld tokens)",
                       (long long)W, (long long)n);
    float *lp = malloc((size_t)W * sizeof(float));
    ppl_acc *acc = calloc(1, sizeof *acc);
    if (!lp || !acc) {
        free(lp);
        free(acc);
        return lc_fail(err, LC_ERR_NOMEM, "ppl: out of memory");
    }
    const double t0 = lc_time_now();
    lc_status st = LC_OK;
    lc_eval_window win;
    int64_t k = 0;
    for (; st == LC_OK && lc_eval_ppl_window(n, W, S, k, &win); k++) {
        st = score_window(m, tokens, &win, lp, acc, err);
        out->n_evaluated += win.end - win.start;
        if (st == LC_OK && c->progress && !c->progress(c->progress_user, (double)win.end, (double)n, "ppl"))
            st = lc_fail(err, LC_ERR_CANCELLED, "ppl: cancelled");
    }
    if (st == LC_OK) {
        out->window = W;
        out->stride = S;
        out->n_windows = k;
        out->n_scored = acc->n;
        out->nll = acc->nll;
        out->ppl = exp(acc->nll / (double)acc->n);
        for (int b = 0; b < LC_EVAL_MAX_BUCKETS; b++) {
            out->bucket_nll[b] = acc->bucket_nll[b];
            out->bucket_count[b] = acc->bucket_count[b];
            if (acc->bucket_count[b] > 0) out->n_buckets = b + 1;
        }
        out->seconds = lc_time_now() - t0;
    }
    free(lp);
    free(acc);
    return st;
}
