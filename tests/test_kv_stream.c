/*
 * Streaming perplexity (lc_eval_ppl_stream) against the evaluation suite's
 * window plan (lc_eval_ppl_run) on random models:
 *
 *  - full cache, a stream that fits: the same nll as one window over it;
 *  - one layer, window:W: the same nll as the sliding window with
 *    re-computation of a W-token cache (the plan's window W + 1, stride 1:
 *    W tokens of context predict the next): with one layer every key and
 *    value depends on its token and position only, so the ring holds exactly
 *    what re-encoding the last W tokens computes;
 *  - every token after the first is scored exactly once, the buckets add up,
 *    and a stream far longer than the cache goes through (sinks, shift, h2o)
 *    while the full policy refuses it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/eval.h"
#include "longctx/runtime.h"
#include "test_util.h"

static lc_model *make_model(int32_t layers, uint64_t seed) {
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.head_dim = 16;
    c.dim = 64;
    c.hidden_dim = 96;
    c.n_layers = layers;
    c.vocab_size = 50;
    c.ctx_train = 256;
    c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, 16);
    lc_model *m = NULL;
    lc_error err;
    if (lc_model_create_random(&c, LC_DTYPE_F32, seed, &m, &err) != LC_OK) return NULL;
    /* sharper attention and logits than N(0, 0.02) gives */
    for (int l = 0; l < layers; l++) {
        lc_tensor *t[3] = {&m->w.layers[l].wq, &m->w.layers[l].wk, &m->w.layers[l].wv};
        for (int i = 0; i < 3; i++) {
            float *x = (float *)(uintptr_t)t[i]->data;
            for (int64_t j = 0; j < t[i]->rows * t[i]->cols; j++) x[j] *= 15;
        }
    }
    float *o = (float *)(uintptr_t)m->w.output.data;
    for (int64_t j = 0; j < m->w.output.rows * m->w.output.cols; j++) o[j] *= 30;
    return m;
}

static lc_context *make_ctx(const lc_model *m, const char *policy, int64_t n_ctx) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    lc_error err;
    if (policy && lc_kv_policy_parse(policy, &o, &err) != LC_OK) return NULL;
    o.n_ctx = n_ctx;
    o.n_batch = 16;
    o.n_threads = 2;
    o.k_type = o.v_type = LC_DTYPE_F32;
    lc_context *ctx = NULL;
    if (lc_context_create(m, &o, &ctx, &err) != LC_OK) fprintf(stderr, "%s\n", err.msg);
    return ctx;
}

static void check_sums(const lc_eval_ppl_result *r, int64_t n, const char *what) {
    int64_t c = 0;
    double s = 0;
    for (int b = 0; b < LC_EVAL_MAX_BUCKETS; b++) c += r->bucket_count[b], s += r->bucket_nll[b];
    CHECK(r->n_scored == n - 1 && c == r->n_scored && fabs(s - r->nll) < 1e-9 * fabs(r->nll) + 1e-12,
          "%s: scored %lld of %lld, buckets %lld", what, (long long)r->n_scored, (long long)n, (long long)c);
    CHECK(isfinite(r->ppl) && r->ppl > 1, "%s: ppl %g", what, r->ppl);
}

int main(void) {
    lc_error err;
    lc_model *m1 = make_model(1, 3), *m2 = make_model(2, 4);
    if (!m1 || !m2) {
        CHECK(false, "models");
        return lc_test_finish("test_kv_stream");
    }
    const int64_t N = lc_test_quick() ? 300 : 700;
    int32_t *toks = malloc((size_t)N * sizeof(int32_t));
    lc_rng r;
    lc_rng_seed(&r, 11);
    for (int64_t i = 0; i < N; i++) toks[i] = (int32_t)lc_rng_below(&r, 50);

    /* full cache: one window over everything */
    lc_context *full = make_ctx(m2, NULL, N);
    lc_eval_ppl_result a, b;
    lc_eval_stream_stats ss;
    CHECK_OK(lc_eval_ppl_stream(full, toks, N, NULL, &a, &ss, &err), &err);
    check_sums(&a, N, "full stream");
    lc_eval_model *em = NULL;
    CHECK_OK(lc_eval_model_from_context(full, NULL, -1, false, &em, &err), &err);
    lc_eval_ppl_config pc = {N, N - 1, NULL, NULL};
    CHECK_OK(lc_eval_ppl_run(em, toks, N, &pc, &b, &err), &err);
    CHECK(fabs(a.nll - b.nll) < 1e-6 * fabs(b.nll), "full: stream nll %.9g, one window %.9g", a.nll, b.nll);
    lc_eval_model_free(em);
    /* the full policy refuses what does not fit */
    lc_context *small = make_ctx(m2, NULL, 64);
    CHECK(lc_eval_ppl_stream(small, toks, N, NULL, &a, NULL, &err) == LC_ERR_TOO_LARGE && strstr(err.msg, "kv-policy"),
          "full: %s", err.msg);
    lc_context_free(small);
    lc_context_free(full);

    /* one layer: window:W streaming == recomputing the last W tokens */
    const int64_t W = 24;
    lc_context *win = make_ctx(m1, "window:24", 0);
    lc_context *rec = make_ctx(m1, NULL, W + 1);
    CHECK_OK(lc_eval_ppl_stream(win, toks, N, NULL, &a, &ss, &err), &err);
    check_sums(&a, N, "window stream");
    CHECK_OK(lc_eval_model_from_context(rec, NULL, -1, false, &em, &err), &err);
    lc_eval_ppl_config pr = {W + 1, 1, NULL, NULL};
    CHECK_OK(lc_eval_ppl_run(em, toks, N, &pr, &b, &err), &err);
    CHECK(b.n_scored == N - 1, "recompute scored %lld", (long long)b.n_scored);
    CHECK(fabs(a.nll - b.nll) < 1e-5 * fabs(b.nll), "window:24 stream nll %.9g, recompute %.9g", a.nll, b.nll);
    /* ...and the buckets agree too, from position 1 up to the window */
    for (int k = 1; k < LC_EVAL_MAX_BUCKETS; k++)
        CHECK(a.bucket_count[k] == b.bucket_count[k] &&
                  fabs(a.bucket_nll[k] - b.bucket_nll[k]) <= 1e-5 * fabs(b.bucket_nll[k]) + 1e-9,
              "bucket %d: %lld vs %lld tokens", k, (long long)a.bucket_count[k], (long long)b.bucket_count[k]);
    /* the full context differs (the test can tell) */
    lc_context *big = make_ctx(m1, NULL, N);
    lc_eval_ppl_result c;
    CHECK_OK(lc_eval_ppl_stream(big, toks, N, NULL, &c, NULL, &err), &err);
    CHECK(fabs(c.nll - a.nll) > 1e-3 * fabs(a.nll), "window and full streams agree (%.9g, %.9g)", a.nll, c.nll);
    lc_context_free(big);
    lc_eval_model_free(em);
    lc_context_free(win);
    lc_context_free(rec);

    /* streams far longer than the cache */
    const char *pol[] = {"sinks:4:20", "shift:4", "h2o:2:8:6"};
    for (size_t i = 0; i < LC_ARRAY_LEN(pol); i++) {
        lc_context *ctx = make_ctx(m2, pol[i], 32);
        CHECK_OK(lc_eval_ppl_stream(ctx, toks, N, NULL, &a, &ss, &err), &err);
        check_sums(&a, N, pol[i]);
        CHECK(a.window == lc_context_n_ctx(ctx) && a.window < N / 4, "%s: window %lld", pol[i], (long long)a.window);
        lc_context_free(ctx);
    }
    free(toks);
    lc_model_free(m1);
    lc_model_free(m2);
    return lc_test_finish("test_kv_stream");
}
