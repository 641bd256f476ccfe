/*
 * KV cache policies (window, sinks, shift, h2o) and cache types, against
 * independent recomputations on random models:
 *
 *  - window and sinks, one layer: the logits of every streamed token equal
 *    those of a fresh full-cache context fed only the tokens the policy keeps
 *    (the sinks, then the last W) at positions 0.. (with one layer, K and V
 *    depend on the token and its position only, so this is exactly
 *    StreamingLLM's "positions within the cache"); 1e-4 relative, f32 cache;
 *    and they differ from the full-context logits by far more (the test can
 *    fail);
 *  - window, three layers: every logit equals a full cache read by the
 *    sliding-window attention kernel (window:W), through ring wrap-around and
 *    position rebases;
 *  - sinks, three layers: token-by-token and chunked streaming agree;
 *  - shift: after each context shift the kept keys of layer 0 equal the keys
 *    a fresh context computes at their new positions (1e-5), values are
 *    moved bit for bit, and the discard count is llama.cpp's (n - keep) / 2;
 *  - h2o: the budget S+R+H is never exceeded, sinks and the R most recent
 *    are always kept, each evicted key had the least mass of the candidates,
 *    and a decode step adds exactly n_layers * n_heads of mass (probabilities
 *    sum to one per row and head);
 *  - q8_0: the stored rows are within half a quantisation step (plus the f16
 *    rounding of the scale) of the input, a q8_0 cache gives logits close to
 *    f32's, and costs at most 0.55x the bytes of f16;
 *  - every policy under random chunking with every cache type keeps its
 *    invariants (run under ASan+UBSan in CI: no overrun), generation never
 *    stops for a full context, and bad specs are refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/runtime.h"
#include "runtime/runtime_internal.h"
#include "test_util.h"


/* A random f32 model whose attention is sharp enough that dropping keys
 * changes the logits clearly (N(0, 0.02) weights alone give near-uniform
 * attention). */
static lc_model *make_model(int32_t layers, int32_t heads, int32_t kv_heads, int32_t head_dim, int32_t vocab,
                            uint64_t seed) {
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.dim = heads * head_dim;
    c.hidden_dim = 2 * c.dim + 8;
    c.n_layers = layers;
    c.n_heads = heads;
    c.n_kv_heads = kv_heads;
    c.head_dim = head_dim;
    c.vocab_size = vocab;
    c.ctx_train = 256;
    c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, head_dim);
    lc_model *m = NULL;
    lc_error err;
    if (lc_model_create_random(&c, LC_DTYPE_F32, seed, &m, &err) != LC_OK) {
        fprintf(stderr, "random model: %s\n", err.msg);
        return NULL;
    }
    const float gain[9] = {1, 12, 12, 40, 20, 1, 20, 20, 20}; /* norm, q, k, v, o, norm, gate, up, down */
    for (int l = 0; l < layers; l++) {
        lc_layer_weights *L = &m->w.layers[l];
        lc_tensor *t[9] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_norm, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 9; i++) {
            float *x = (float *)(uintptr_t)t[i]->data;
            for (int64_t j = 0; j < t[i]->rows * t[i]->cols; j++) x[j] *= gain[i];
        }
    }
    float *o = (float *)(uintptr_t)m->w.output.data;
    if (m->w.output.data != m->w.tok_embd.data)
        for (int64_t j = 0; j < m->w.output.rows * m->w.output.cols; j++) o[j] *= 20;
    return m;
}

static lc_context *make_ctx(const lc_model *m, const char *policy, int64_t n_ctx, int64_t n_batch, lc_dtype kt,
                            lc_dtype vt, const char *attn, int threads) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    lc_error err;
    if (policy && lc_kv_policy_parse(policy, &o, &err) != LC_OK) {
        fprintf(stderr, "policy %s: %s\n", policy, err.msg);
        return NULL;
    }
    o.n_ctx = n_ctx;
    o.n_batch = n_batch;
    o.k_type = kt;
    o.v_type = vt;
    o.attn = attn;
    o.n_threads = threads;
    lc_context *ctx = NULL;
    if (lc_context_create(m, &o, &ctx, &err) != LC_OK) {
        fprintf(stderr, "context (%s): %s\n", policy ? policy : "full", err.msg);
        return NULL;
    }
    return ctx;
}

static void random_tokens(int32_t *t, int64_t n, int32_t vocab, uint64_t seed) {
    lc_rng r;
    lc_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) t[i] = (int32_t)lc_rng_below(&r, (uint64_t)vocab);
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double d = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= d)) d = e;
    }
    return d;
}

/* ---- parsing and refusals --------------------------------------------------- */

static void test_parse(void) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    lc_error err;
    CHECK_OK(lc_kv_policy_parse("sinks:4:1K", &o, &err), &err);
    CHECK(o.kv_policy == LC_KV_POLICY_SINKS && o.kv_n_sinks == 4 && o.kv_window == 1024, "sinks:4:1K");
    CHECK_OK(lc_kv_policy_parse("h2o:2:64:128", &o, &err), &err);
    CHECK(o.kv_policy == LC_KV_POLICY_H2O && o.kv_n_sinks == 2 && o.kv_window == 64 && o.kv_n_heavy == 128, "h2o");
    CHECK_OK(lc_kv_policy_parse("shift:16", &o, &err), &err);
    CHECK(o.kv_policy == LC_KV_POLICY_SHIFT && o.kv_n_keep == 16 && o.kv_n_sinks == 0 && o.kv_window == 0, "shift");
    CHECK_OK(lc_kv_policy_parse("window:8", &o, &err), &err);
    CHECK(o.kv_policy == LC_KV_POLICY_WINDOW && o.kv_window == 8, "window");
    CHECK_OK(lc_kv_policy_parse("full", &o, &err), &err);
    CHECK(o.kv_policy == LC_KV_POLICY_FULL, "full");
    const char *bad[] = {"", "window", "window:0", "window:-3", "window:4:2", "sinks:4", "sinks:a:4", "shift",
                         "h2o:1:0:0", "h2o:1:2", "ring:4", "full:3", "window:4x", "sinks:4:8:1:2:3", "window: 4"};
    for (size_t i = 0; i < LC_ARRAY_LEN(bad); i++) {
        lc_context_opts_init(&o);
        CHECK(lc_kv_policy_parse(bad[i], &o, &err) == LC_ERR_INVALID_ARG, "accepted '%s'", bad[i]);
        CHECK(o.kv_policy == LC_KV_POLICY_FULL, "'%s' changed the options on failure", bad[i]);
    }
    CHECK(strcmp(lc_kv_policy_name(LC_KV_POLICY_H2O), "h2o") == 0 && strcmp(lc_kv_policy_name(LC_KV_POLICY_COUNT), "?") == 0,
          "names");

    lc_model *m = make_model(1, 2, 1, 16, 32, 5);
    if (!m) return;
    lc_context_opts_init(&o);
    lc_context *ctx = NULL;
    CHECK_OK(lc_kv_policy_parse("window:8", &o, &err), &err);
    o.attn = "naive";
    CHECK(lc_context_create(m, &o, &ctx, &err) == LC_ERR_UNSUPPORTED && strstr(err.msg, "flash"), "window+naive: %s",
          err.msg);
    o.attn = "linear";
    CHECK(lc_context_create(m, &o, &ctx, &err) == LC_ERR_UNSUPPORTED, "window+linear: %s", err.msg);
    lc_context_opts_init(&o);
    CHECK_OK(lc_kv_policy_parse("shift:30", &o, &err), &err);
    o.n_ctx = 31;
    CHECK(lc_context_create(m, &o, &ctx, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "KEEP"), "shift keep: %s",
          err.msg);
    o.n_ctx = 32;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    lc_context_free(ctx);
    ctx = NULL;
    /* window/sinks/h2o take their size from the spec, whatever -c says */
    lc_context_opts_init(&o);
    CHECK_OK(lc_kv_policy_parse("sinks:4:64", &o, &err), &err);
    o.n_ctx = 100000;
    o.n_batch = 512;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    if (ctx) {
        CHECK(lc_context_n_ctx(ctx) == 4 + 64 + 8 - 1 && lc_context_n_batch(ctx) == 8, "sinks slots %lld batch %lld",
              (long long)lc_context_n_ctx(ctx), (long long)lc_context_n_batch(ctx));
        char d[96];
        lc_context_kv_describe(ctx, d, sizeof d);
        CHECK(strcmp(d, "sinks:4:64 (75 slots, f16/f16)") == 0, "describe: %s", d);
        char cd[128], want[128];
        snprintf(want, sizeof want, "ctx 75, batch 8, %d threads, attn %s, kv f16/f16", lc_context_n_threads(ctx),
                 lc_attn_method_name(lc_context_attn(ctx)->method));
        CHECK(lc_context_n_threads(ctx) > 0 && strcmp(lc_context_describe(ctx, cd, sizeof cd), want) == 0,
              "context: %s", cd);
    }
    lc_context_free(ctx);
    lc_model_free(m);
}

/* ---- window and sinks against recomputation (one layer) -------------------- */

/* The tokens a ring policy keeps for the token at index t: sinks 0..S-1, then
 * max(S, t-W+1) .. t. */
static int64_t retained(const int32_t *toks, int64_t t, int64_t S, int64_t W, int32_t *out) {
    int64_t n = 0;
    for (int64_t i = 0; i < S && i <= t; i++) out[n++] = toks[i];
    for (int64_t i = LC_MAX(S, t - W + 1); i <= t; i++) out[n++] = toks[i];
    return n;
}

static void check_ring_recompute(const lc_model *m, int64_t S, int64_t W, int64_t n_batch, uint64_t seed) {
    char spec[64];
    if (S > 0) snprintf(spec, sizeof spec, "sinks:%lld:%lld", (long long)S, (long long)W);
    else snprintf(spec, sizeof spec, "window:%lld", (long long)W);
    const int32_t V = m->cfg.vocab_size;
    const int64_t N = lc_test_quick() ? 70 : 160;
    lc_context *pol = make_ctx(m, spec, 0, n_batch, LC_DTYPE_F32, LC_DTYPE_F32, NULL, 2);
    lc_context *ref = make_ctx(m, NULL, S + W + 8, 64, LC_DTYPE_F32, LC_DTYPE_F32, NULL, 2);
    lc_context *all = make_ctx(m, NULL, N, 64, LC_DTYPE_F32, LC_DTYPE_F32, NULL, 2);
    int32_t *toks = malloc((size_t)N * sizeof(int32_t)), *keep = malloc((size_t)(S + W + 1) * sizeof(int32_t));
    float *lp = malloc((size_t)V * 4), *lr = malloc((size_t)V * 4), *la = malloc((size_t)V * 4);
    if (!pol || !ref || !all || !toks || !keep || !lp || !lr || !la) {
        CHECK(false, "setup %s", spec);
        goto done;
    }
    random_tokens(toks, N, V, seed);
    lc_rng r;
    lc_rng_seed(&r, seed + 1);
    lc_error err;
    double worst = 0, apart = 0;
    int64_t t = 0;
    while (t < N) {
        /* pieces of 1..13 tokens: the runtime cuts them into its chunks */
        const int64_t draw = 1 + (int64_t)lc_rng_below(&r, 13); /* (LC_MIN evaluates twice) */
        const int64_t piece = LC_MIN(N - t, draw);
        CHECK_OK(lc_context_eval(pol, toks + t, piece, lp, false, &err), &err);
        t += piece;
        const int64_t last = t - 1;
        const int64_t nk = retained(toks, last, S, W, keep);
        lc_context_reset(ref);
        CHECK_OK(lc_context_eval(ref, keep, nk, lr, false, &err), &err);
        const double e = lc_test_rel_err(lp, lr, (size_t)V, 1e-3);
        if (e > worst) worst = e;
        CHECK(e < 1e-4, "%s batch %lld: token %lld: rel err %.3g vs recomputation over %lld kept tokens", spec,
              (long long)n_batch, (long long)last, e, (long long)nk);
        if (last >= S + W) { /* something was dropped: the full context differs */
            lc_context_reset(all);
            CHECK_OK(lc_context_eval(all, toks, t, la, false, &err), &err);
            double d = max_abs_diff(lp, la, V);
            if (d > apart) apart = d;
        }
        lc_kv_stats ks;
        lc_context_kv_stats(pol, &ks);
        CHECK(ks.n_seen == t && ks.next_pos == t && ks.n_used <= ks.n_slots, "%s stats", spec);
        CHECK(ks.n_visible == LC_MIN(t, S) + LC_MIN(LC_MAX(0, t - S), W - 1), "%s visible %lld", spec,
              (long long)ks.n_visible);
        /* RoPE never sees a ring position at or past the limit */
        const lc_kv_cache *c = &pol->kv;
        for (int64_t s = 0; s < c->n_slots; s++)
            CHECK(c->pos[s] < c->rot_limit && c->pos[s] >= -1, "%s slot %lld rotated at %lld (limit %lld)", spec,
                  (long long)s, (long long)c->pos[s], (long long)c->rot_limit);
    }
    CHECK(apart > 1e3 * LC_MAX(worst, 1e-7) && apart > 1e-3,
          "%s: dropping tokens barely changes the logits (%.3g vs error %.3g): the test cannot tell", spec, apart, worst);
    CHECK(pol->kv.n_shifts > 0 || N < pol->kv.rot_limit, "%s: no rebase happened in %lld tokens", spec, (long long)N);
done:
    free(toks), free(keep), free(lp), free(lr), free(la);
    lc_context_free(pol), lc_context_free(ref), lc_context_free(all);
}

static void test_ring_recompute(void) {
    lc_model *m = make_model(1, 4, 2, 16, 97, 11);
    if (!m) return;
    check_ring_recompute(m, 0, 7, 64, 1);
    check_ring_recompute(m, 0, 1, 64, 2);
    check_ring_recompute(m, 3, 9, 1, 3);
    check_ring_recompute(m, 3, 9, 64, 4);
    check_ring_recompute(m, 1, 24, 64, 5);
    check_ring_recompute(m, 4, 33, 3, 6);
    lc_model_free(m);
}

/* ---- window with three layers: the sliding-window kernel over a full cache ---- */

static void test_window_multilayer(void) {
    lc_model *m = make_model(3, 4, 2, 16, 61, 21);
    if (!m) return;
    const int64_t W = 40, N = lc_test_quick() ? 160 : 300;
    const int32_t V = m->cfg.vocab_size;
    lc_context *pol = make_ctx(m, "window:40", 0, 8, LC_DTYPE_F32, LC_DTYPE_F32, NULL, 2);
    lc_context *ref = make_ctx(m, NULL, N, 64, LC_DTYPE_F32, LC_DTYPE_F32, "window:40", 2);
    int32_t *toks = malloc((size_t)N * 4);
    float *lp = malloc((size_t)(N * V) * 4), *lr = malloc((size_t)(N * V) * 4);
    lc_error err;
    if (pol && ref && toks && lp && lr) {
        random_tokens(toks, N, V, 7);
        CHECK(lc_context_n_batch(pol) == 5 && lc_context_n_ctx(pol) == W + 4, "chunk %lld, slots %lld",
              (long long)lc_context_n_batch(pol), (long long)lc_context_n_ctx(pol));
        /* uneven pieces, all logits */
        int64_t t = 0, k = 0;
        const int64_t pieces[6] = {1, 17, 3, 64, 2, 9};
        while (t < N) {
            const int64_t want = pieces[k++ % 6];
            const int64_t p = LC_MIN(N - t, want);
            CHECK_OK(lc_context_eval(pol, toks + t, p, lp + t * V, true, &err), &err);
            t += p;
        }
        CHECK_OK(lc_context_eval(ref, toks, N, lr, true, &err), &err);
        const double e = lc_test_rel_err(lp, lr, (size_t)(N * V), 1e-3);
        CHECK(e < 1e-4, "window:40, 3 layers: rel err %.3g against window attention over a full cache", e);
        CHECK(pol->kv.n_shifts >= 2, "only %lld rebases", (long long)pol->kv.n_shifts);
    } else {
        CHECK(false, "setup");
    }
    free(toks), free(lp), free(lr);
    lc_context_free(pol), lc_context_free(ref);
    lc_model_free(m);
}

/* ---- sinks with three layers: chunking does not change anything ----------------- */

static void test_sinks_chunking(void) {
    lc_model *m = make_model(3, 4, 4, 16, 53, 31);
    if (!m) return;
    const int64_t N = lc_test_quick() ? 120 : 240;
    const int32_t V = m->cfg.vocab_size;
    lc_context *one = make_ctx(m, "sinks:4:24", 0, 1, LC_DTYPE_F32, LC_DTYPE_F32, NULL, 1);
    lc_context *many = make_ctx(m, "sinks:4:24", 0, 64, LC_DTYPE_F32, LC_DTYPE_F32, NULL, 2);
    int32_t *toks = malloc((size_t)N * 4);
    float *l1 = malloc((size_t)(N * V) * 4), *l2 = malloc((size_t)(N * V) * 4);
    lc_error err;
    if (one && many && toks && l1 && l2) {
        random_tokens(toks, N, V, 9);
        for (int64_t t = 0; t < N; t++) CHECK_OK(lc_context_eval(one, toks + t, 1, l1 + t * V, false, &err), &err);
        CHECK_OK(lc_context_eval(many, toks, N, l2, true, &err), &err);
        const double e = lc_test_rel_err(l2, l1, (size_t)(N * V), 1e-3);
        CHECK(e < 1e-5, "sinks:4:24 chunked vs token by token: rel err %.3g", e);
        int32_t ids[64];
        int64_t pos[64];
        const int64_t n = lc_context_kv_tokens(many, ids, pos, 64);
        CHECK(n == lc_context_n_past(many) && n == 4 + 24 + 3 - 1, "held %lld", (long long)n);
        for (int64_t i = 0; i < n && i < 64; i++) {
            const int64_t want = i < 4 ? i : N - (n - i);
            CHECK(pos[i] == want && ids[i] == toks[want], "held token %lld: position %lld (want %lld)", (long long)i,
                  (long long)pos[i], (long long)want);
        }
    } else {
        CHECK(false, "setup");
    }
    free(toks), free(l1), free(l2);
    lc_context_free(one), lc_context_free(many);
    lc_model_free(m);
}

/* ---- shift: re-rotated keys equal keys computed at their new positions --------- */

static void check_shift(lc_dtype kt, double tol) {
    lc_model *m = make_model(2, 4, 2, 16, 71, 41);
    if (!m) return;
    const int64_t C = 32, KEEP = 5, N = lc_test_quick() ? 100 : 200;
    const int32_t V = m->cfg.vocab_size;
    lc_context *pol = make_ctx(m, "shift:5", C, 64, kt, LC_DTYPE_F32, NULL, 2);
    lc_context *ref = make_ctx(m, NULL, C, 64, kt == LC_DTYPE_Q8_0 ? LC_DTYPE_F32 : kt, LC_DTYPE_F32, NULL, 2);
    int32_t *toks = malloc((size_t)N * 4), held[32];
    int64_t pos[32];
    float *kf = malloc((size_t)(C * 32) * 4), *kr = malloc((size_t)(C * 32) * 4);
    lc_error err;
    if (!pol || !ref || !toks || !kf || !kr) {
        CHECK(false, "setup");
        goto done;
    }
    CHECK(lc_context_n_batch(pol) == (C - KEEP) / 2, "shift chunk %lld", (long long)lc_context_n_batch(pol));
    random_tokens(toks, N, V, 13);
    lc_rng r;
    lc_rng_seed(&r, 17);
    int64_t t = 0, shifts = 0;
    bool first = true;
    while (t < N) {
        const int64_t draw = 1 + (int64_t)lc_rng_below(&r, 9);
        const int64_t p = LC_MIN(N - t, draw);
        const int64_t used_before = lc_context_n_past(pol);
        CHECK_OK(lc_context_eval(pol, toks + t, p, NULL, false, &err), &err);
        t += p;
        lc_kv_stats ks;
        lc_context_kv_stats(pol, &ks);
        if (ks.n_shifts > 0 && first) { /* llama.cpp: n_discard = (n_past - n_keep) / 2 */
            CHECK(ks.n_shifts == 1 && ks.n_evicted == (used_before - KEEP) / 2 && ks.n_used == used_before + p - ks.n_evicted,
                  "first shift discarded %lld of %lld (keep %lld)", (long long)ks.n_evicted, (long long)used_before,
                  (long long)KEEP);
            first = false;
        }
        if (ks.n_shifts == shifts) continue;
        shifts = ks.n_shifts;
        /* the kept tokens, at their new positions 0..n-1, in a fresh context */
        const int64_t n = lc_context_kv_tokens(pol, held, pos, 32);
        CHECK(n == ks.n_used && ks.next_pos == n && pos[n - 1] == n - 1, "positions after a shift");
        for (int64_t i = 0; i < KEEP; i++) CHECK(held[i] == toks[i], "kept token %lld lost", (long long)i);
        for (int64_t i = KEEP; i < n; i++) /* the rest is the most recent tokens, in order */
            CHECK(held[i] == toks[t - n + i], "token %lld after the shift is not the recent one", (long long)i);
        lc_context_reset(ref);
        CHECK_OK(lc_context_eval(ref, held, n, NULL, false, &err), &err);
        const int64_t row = 32; /* kv_dim */
        for (int64_t i = 0; i < n; i++) {
            lc_row_to_f32(pol->kv.k_type, pol->kv.k + (size_t)i * pol->kv.k_row_bytes, kf + i * row, row, NULL);
            lc_row_to_f32(ref->kv.k_type, ref->kv.k + (size_t)i * ref->kv.k_row_bytes, kr + i * row, row, NULL);
        }
        const double e = lc_test_rel_err(kf, kr, (size_t)(n * row), 1e-3);
        CHECK(e < tol, "%s keys after shift %lld: rel err %.3g (tol %.1g)", lc_dtype_name(kt), (long long)shifts, e,
              tol);
        /* values are moved, not rotated: equal up to GEMM-vs-GEMV rounding of the
         * projection (the reference computes all of them in one chunk) */
        const double ev = lc_test_rel_err((const float *)pol->kv.v, (const float *)ref->kv.v, (size_t)(n * row), 1e-3);
        CHECK(ev < 1e-6, "values after shift %lld: rel err %.3g", (long long)shifts, ev);
    }
    CHECK(shifts >= 3, "only %lld shifts", (long long)shifts);
    /* generation goes on past -c */
    lc_generate_opts go;
    lc_generate_opts_init(&go);
    go.n_predict = 3 * C;
    lc_generate_result res;
    CHECK_OK(lc_generate(pol, NULL, 0, &go, NULL, 0, &res, &err), &err);
    CHECK(res.stop == LC_STOP_LENGTH && res.n_generated == 3 * C, "shift generation stopped: %s after %lld",
          lc_stop_reason_name(res.stop), (long long)res.n_generated);
done:
    free(toks), free(kf), free(kr);
    lc_context_free(pol), lc_context_free(ref);
    lc_model_free(m);
}

static void test_shift(void) {
    check_shift(LC_DTYPE_F32, 1e-5);
    check_shift(LC_DTYPE_F16, 2e-3); /* one more f16 rounding per shift a key lives through */
}

/* ---- h2o ---------------------------------------------------------------------- */

static void test_h2o(void) {
    lc_model *m = make_model(2, 4, 2, 16, 67, 51);
    if (!m) return;
    const int64_t S = 2, R = 4, H = 6, B = S + R + H, N = lc_test_quick() ? 60 : 120;
    lc_context *ctx = make_ctx(m, "h2o:2:4:6", 0, 64, LC_DTYPE_F32, LC_DTYPE_F32, NULL, 2);
    lc_context *nai = make_ctx(m, "h2o:2:4:6", 0, 64, LC_DTYPE_F32, LC_DTYPE_F32, "naive", 1);
    int32_t *toks = malloc((size_t)N * 4);
    double mass[12];
    int64_t pos[12];
    lc_error err;
    if (!ctx || !nai || !toks) {
        CHECK(false, "setup");
        goto done;
    }
    CHECK(lc_context_n_ctx(ctx) == B, "h2o slots %lld", (long long)lc_context_n_ctx(ctx));
    random_tokens(toks, N, m->cfg.vocab_size, 19);
    const lc_kv_cache *c = &ctx->kv;
    for (int64_t t = 0; t < N; t++) {
        memcpy(mass, c->mass, sizeof mass);
        memcpy(pos, c->pos, sizeof pos);
        double before = 0;
        for (int s = 0; s < B; s++) before += mass[s];
        CHECK_OK(lc_context_eval(ctx, toks + t, 1, NULL, false, &err), &err);
        CHECK_OK(lc_context_eval(nai, toks + t, 1, NULL, false, &err), &err);
        CHECK(c->n_used <= B && c->n_used == LC_MIN(t + 1, B), "budget: %lld held", (long long)c->n_used);
        /* which position left? */
        int64_t gone = -1;
        double gone_mass = 0;
        for (int s = 0; s < B; s++) {
            if (pos[s] < 0) continue;
            bool still = false;
            for (int u = 0; u < B; u++) still = still || c->pos[u] == pos[s];
            if (!still) {
                CHECK(gone < 0, "two tokens evicted for one");
                gone = pos[s];
                gone_mass = mass[s];
            }
        }
        CHECK((gone >= 0) == (t >= B), "step %lld: eviction %lld", (long long)t, (long long)gone);
        if (gone >= 0) {
            CHECK(gone >= S && gone < t - R + 1, "evicted position %lld is a sink or recent (t %lld)", (long long)gone,
                  (long long)t);
            for (int s = 0; s < B; s++) /* every other candidate had at least its mass */
                if (pos[s] >= S && pos[s] < t + 1 - R && pos[s] != gone)
                    CHECK(mass[s] > gone_mass || (mass[s] == gone_mass && pos[s] > gone),
                          "evicted %lld (mass %.6g) while %lld had %.6g", (long long)gone, gone_mass,
                          (long long)pos[s], mass[s]);
        }
        for (int64_t p = 0; p < S && p <= t; p++) { /* sinks and the recent R are held */
            bool held = false;
            for (int u = 0; u < B; u++) held = held || c->pos[u] == p;
            CHECK(held, "sink %lld evicted", (long long)p);
        }
        for (int64_t p = LC_MAX(0, t - R + 1); p <= t; p++) {
            bool held = false;
            for (int u = 0; u < B; u++) held = held || c->pos[u] == p;
            CHECK(held, "recent %lld evicted at %lld", (long long)p, (long long)t);
        }
        /* one query row per layer and head: probabilities sum to 1 each */
        double after = 0;
        for (int s = 0; s < B; s++) after += c->mass[s];
        const double added = after - (before - gone_mass);
        CHECK(fabs(added - 2 * 4) < 1e-4, "step %lld added %.6f of mass (expected %d)", (long long)t, added, 2 * 4);
        /* naive attention's log-sum-exp gives the same choices */
        for (int s = 0; s < B; s++)
            CHECK(nai->kv.pos[s] == c->pos[s], "naive and flash h2o disagree at step %lld slot %d", (long long)t, s);
    }
    /* a chunked prefill respects the budget too */
    lc_context_reset(ctx);
    CHECK(ctx->kv.n_used == 0 && ctx->kv.hw == 0, "reset");
    CHECK_OK(lc_context_eval(ctx, toks, N, NULL, false, &err), &err);
    CHECK(ctx->kv.n_used == B && lc_context_n_seen(ctx) == N, "chunked h2o: %lld held", (long long)ctx->kv.n_used);
    lc_kv_stats ks;
    lc_context_kv_stats(ctx, &ks);
    CHECK(ks.n_evicted == N - B, "evicted %lld", (long long)ks.n_evicted);
done:
    free(toks);
    lc_context_free(ctx), lc_context_free(nai);
    lc_model_free(m);
}

/* ---- q8_0 cache ------------------------------------------------------------------- */

static void test_q8_0(void) {
    lc_model *m = make_model(2, 4, 2, 32, 83, 61);
    if (!m) return;
    CHECK(2 * lc_model_kv_bytes_per_token(&m->cfg, LC_DTYPE_Q8_0, LC_DTYPE_Q8_0) <=
              1.1 * lc_model_kv_bytes_per_token(&m->cfg, LC_DTYPE_F16, LC_DTYPE_F16),
          "q8_0 is more than 0.55x f16 per token");
    lc_context *q8 = make_ctx(m, NULL, 64, 16, LC_DTYPE_Q8_0, LC_DTYPE_Q8_0, NULL, 2);
    lc_context *f32 = make_ctx(m, NULL, 64, 16, LC_DTYPE_F32, LC_DTYPE_F32, NULL, 2);
    const int32_t V = m->cfg.vocab_size;
    int32_t toks[48];
    float *a = malloc((size_t)(48 * V) * 4), *b = malloc((size_t)(48 * V) * 4);
    lc_error err;
    if (q8 && f32 && a && b) {
        random_tokens(toks, 48, V, 23);
        CHECK_OK(lc_context_eval(q8, toks, 48, a, true, &err), &err);
        CHECK_OK(lc_context_eval(f32, toks, 48, b, true, &err), &err);
        const double e = lc_test_rel_err(a, b, (size_t)(48 * V), 1e-3);
        CHECK(e < 6e-2 && e > 0, "q8_0 cache logits: rel err %.3g against f32", e);
        /* each stored layer-0 row against the f32 cache's: half a step of its block */
        const int64_t row = 64;
        float x[64], y[64];
        double worst = 0;
        for (int64_t i = 0; i < 48; i++) {
            for (int kv = 0; kv < 2; kv++) {
                const char *src = kv ? f32->kv.v : f32->kv.k;
                const char *dst = kv ? q8->kv.v : q8->kv.k;
                const size_t rb = kv ? q8->kv.v_row_bytes : q8->kv.k_row_bytes;
                memcpy(x, src + (size_t)i * row * 4, sizeof x);
                lc_row_to_f32(LC_DTYPE_Q8_0, dst + (size_t)i * rb, y, row, NULL);
                for (int blk = 0; blk < 2; blk++) {
                    float amax = 0;
                    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[blk * 32 + j]));
                    /* half a step, plus 127 q times the f16 rounding of the scale (2^-11 relative) */
                    const double step = amax / 127.0, bound = step * (0.5 + 127.0 / 2048) + 1e-7;
                    for (int j = 0; j < 32; j++) {
                        const double e2 = fabs((double)x[blk * 32 + j] - y[blk * 32 + j]);
                        if (e2 / (step + 1e-30) > worst) worst = e2 / (step + 1e-30);
                        CHECK(e2 <= bound, "q8_0 row %lld elem %d: error %.3g > bound %.3g", (long long)i,
                              blk * 32 + j, e2, bound);
                    }
                }
            }
        }
        CHECK(worst > 0.3, "q8_0 error never reached a third of a step (%.3f): not quantised?", worst);
    } else {
        CHECK(false, "setup");
    }
    /* a policy over q8_0: keys re-rotated through the quantiser */
    lc_context *sh = make_ctx(m, "shift:4", 24, 16, LC_DTYPE_Q8_0, LC_DTYPE_Q8_0, NULL, 2);
    if (sh) {
        int32_t t2[100];
        random_tokens(t2, 100, V, 29);
        CHECK_OK(lc_context_eval(sh, t2, 100, NULL, false, &err), &err);
        lc_kv_stats ks;
        lc_context_kv_stats(sh, &ks);
        CHECK(ks.n_shifts > 0 && ks.bytes_per_token == lc_model_kv_bytes_per_token(&m->cfg, LC_DTYPE_Q8_0, LC_DTYPE_Q8_0),
              "q8_0 shift stats");
    }
    lc_context_free(sh);
    free(a), free(b);
    lc_context_free(q8), lc_context_free(f32);
    lc_model_free(m);
}

/* ---- every policy, random chunking, every type: invariants ---------------------- */

static void test_random_streams(void) {
    lc_model *m = make_model(2, 4, 2, 32, 41, 71);
    if (!m) return;
    const char *specs[] = {"window:1", "window:5", "window:33", "sinks:1:1", "sinks:4:12", "sinks:16:8",
                           "shift:0",  "shift:7",  "h2o:0:1:0", "h2o:3:0:5", "h2o:1:3:3",  "full"};
    const lc_dtype types[3] = {LC_DTYPE_F32, LC_DTYPE_F16, LC_DTYPE_Q8_0};
    lc_rng r;
    lc_rng_seed(&r, 99);
    const int64_t N = lc_test_quick() ? 90 : 200;
    int32_t *toks = malloc((size_t)N * 4);
    random_tokens(toks, N, m->cfg.vocab_size, 31);
    lc_error err;
    for (size_t i = 0; i < LC_ARRAY_LEN(specs); i++) {
        const lc_dtype kt = types[lc_rng_below(&r, 3)], vt = types[lc_rng_below(&r, 3)];
        const int64_t nb = 1 + (int64_t)lc_rng_below(&r, 16);
        const bool full = strcmp(specs[i], "full") == 0;
        lc_context *ctx = make_ctx(m, specs[i], full ? N : 20, nb, kt, vt, NULL, 1 + (int)lc_rng_below(&r, 2));
        if (!ctx) {
            CHECK(false, "context %s", specs[i]);
            continue;
        }
        int64_t t = 0;
        while (t < N) {
            const int64_t draw = 1 + (int64_t)lc_rng_below(&r, 25);
            const int64_t p = LC_MIN(N - t, draw);
            CHECK_OK(lc_context_eval(ctx, toks + t, p, NULL, false, &err), &err);
            t += p;
            lc_kv_stats ks;
            lc_context_kv_stats(ctx, &ks);
            CHECK(ks.n_used <= ks.n_slots && ks.n_seen == t, "%s: %lld of %lld held after %lld", specs[i],
                  (long long)ks.n_used, (long long)ks.n_slots, (long long)t);
            int32_t ids[64];
            int64_t pos[64];
            const int64_t n = lc_context_kv_tokens(ctx, ids, pos, 64);
            CHECK(n == ks.n_used, "%s: %lld tokens listed, %lld held", specs[i], (long long)n, (long long)ks.n_used);
            for (int64_t j = 1; j < n && j < 64; j++) CHECK(pos[j] > pos[j - 1], "%s: positions not increasing", specs[i]);
            if (n > 0 && n <= 64) CHECK(pos[n - 1] == ks.next_pos - 1, "%s: last position %lld", specs[i], (long long)pos[n - 1]);
        }
        if (!full) { /* streaming policies never report a full context */
            lc_generate_opts go;
            lc_generate_opts_init(&go);
            go.n_predict = 50;
            lc_generate_result res;
            CHECK_OK(lc_generate(ctx, NULL, 0, &go, NULL, 0, &res, &err), &err);
            CHECK(res.stop == LC_STOP_LENGTH, "%s: generation stopped (%s)", specs[i], lc_stop_reason_name(res.stop));
        }
        lc_context_free(ctx);
    }
    free(toks);
    lc_model_free(m);
}

/* The attention workspace is sized for every chunk shape a policy produces:
 * a 385-row chunk over a ring of 1030 keys needed more than a sample of
 * shapes found (FLASH splits the keys into partitions from 1024 on). */
static void test_workspace_shapes(void) {
    lc_model_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.arch, sizeof c.arch, "llama");
    c.dim = 288;
    c.hidden_dim = 64;
    c.n_layers = 2; /* the last layer only runs the last row */
    c.n_heads = 6;
    c.n_kv_heads = 6;
    c.head_dim = 48;
    c.vocab_size = 64;
    c.ctx_train = 4096;
    c.norm_eps = 1e-5f;
    lc_rope_config_init(&c.rope, 48);
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 3, &m, &err), &err);
    if (!m) return;
    lc_context *ctx = make_ctx(m, "sinks:4:4092", 0, 512, LC_DTYPE_F16, LC_DTYPE_F16, NULL, 2);
    int32_t *t = calloc(1100, sizeof(int32_t));
    if (ctx && t) {
        CHECK(lc_context_n_batch(ctx) == 511, "chunk %lld", (long long)lc_context_n_batch(ctx));
        CHECK_OK(lc_context_eval(ctx, t, 649, NULL, false, &err), &err);
        CHECK_OK(lc_context_eval(ctx, t, 385, NULL, false, &err), &err); /* 385 rows over 1030 ring keys */
        CHECK_OK(lc_context_eval(ctx, t, 1, NULL, false, &err), &err);
    }
    free(t);
    lc_context_free(ctx);
    lc_model_free(m);
}

int main(void) {
    test_workspace_shapes();
    test_parse();
    test_ring_recompute();
    test_window_multilayer();
    test_sinks_chunking();
    test_shift();
    test_h2o();
    test_q8_0();
    test_random_streams();
    return lc_test_finish("test_kv_policy");
}
