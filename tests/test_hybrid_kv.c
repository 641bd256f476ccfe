/*
 * KV policies and sessions on the hybrid families (issue 13): gpt-oss
 * (learned sink logits, alternating 32-token window and full layers) and
 * Qwen3-Next (3 Gated DeltaNet layers, then 1 gated attention layer), on the
 * fixtures in ../shared/fixtures/ (skipped, saying so, when absent). Each
 * policy is checked against a formulation that does not use its cache:
 *
 *   window:W  the ring (W + B - 1 slots, wrapping many times over 160
 *             tokens) = a FULL cache read by the sliding-window kernel
 *             (--attn window:W); window layers attend within min(W, their
 *             own window) in both. 1 and 2 threads.
 *   sinks:S:W Qwen3-Next, and gpt-oss with every layer global (--swa -1):
 *             = a FULL context whose attention is done by this file through
 *             the attention hook, in double, from the keys and values at
 *             their true positions: StreamingLLM's kept set (the first S, the
 *             last W) and its positions (the sinks seen from the query's
 *             position within the cache, min(t, S+W-1)), the learned sink
 *             logit once in the denominator. Rebases included (T = 2C+S+B).
 *             gpt-oss with its window layers: = FULL while nothing is
 *             evicted (a window layer must not see sinks outside its window).
 *   all       Qwen3-Next: its DeltaNet layers precede the attention layer,
 *             so their recurrent states after 160 tokens must be bit for bit
 *             those of a FULL context fed the same chunks, whatever the
 *             policy evicted.
 *   sessions  saved mid-stream under every policy (after evictions), loaded
 *             into a context that held other tokens: the continuation is bit
 *             for bit the uninterrupted one (tokens one at a time, then a
 *             9-token chunk); gpt-oss under the full policy with its window
 *             layers' rings too (session version 3), and refusals of a bad
 *             ring slot, another window, a context without rings.
 *   truncate  Qwen3-Next and gpt-oss's rings: truncation re-evaluates the
 *             kept tokens; the continuation equals one evaluation of them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longctx/deltanet.h"
#include "longctx/model.h"
#include "longctx/rope.h"
#include "longctx/runtime.h"
#include "runtime/runtime_internal.h"
#include "test_util.h"
#include "test_fixture_util.h"

#define N_TOK 160
#define MAX_LAYERS 8

static lc_model *load(const char *family, int32_t *tok) {
    char dir[1024], path[1200];
    lc_test_shared(family, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.f16.gguf", dir);
    lc_model *m = lc_test_load_if_present(path);
    if (!m) return NULL;
    snprintf(path, sizeof path, "%s/tokens.json", dir);
    const int64_t n = lc_test_read_tokens_json(path, tok, N_TOK);
    CHECK(n == N_TOK, "%s: %lld tokens", family, (long long)n);
    if (n != N_TOK) {
        lc_model_free(m);
        return NULL;
    }
    return m;
}

static double max_diff(const float *a, const float *b, size_t n) {
    double d = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= d)) d = e; /* NaN wins */
    }
    return d;
}

static lc_context_opts base_opts(int n_threads) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.k_type = o.v_type = LC_DTYPE_F32;
    o.n_threads = n_threads;
    o.n_ctx = 256;
    return o;
}

/* Every position's logits [N_TOK, V], fed in calls of `chunk` tokens (the
 * context cuts them into its own chunks). */
static lc_status stream(lc_context *ctx, const int32_t *tok, int64_t n, int64_t chunk, float *out, int32_t V,
                        lc_error *err) {
    lc_status st = LC_OK;
    for (int64_t i = 0; i < n && st == LC_OK; i += chunk)
        st = lc_context_eval(ctx, tok + i, LC_MIN(chunk, n - i), out + i * V, true, err);
    return st;
}

/* ---- window:W against FULL + the sliding-window kernel ---------------------- */

static void check_window(const lc_model *m, const char *name, const int32_t *tok, int64_t w0, int64_t w1) {
    const int32_t V = m->cfg.vocab_size;
    float *ref = calloc((size_t)N_TOK * V, sizeof(float)), *got = calloc((size_t)N_TOK * V, sizeof(float)),
          *got1 = calloc((size_t)N_TOK * V, sizeof(float));
    const int64_t windows[2] = {w0, w1};
    for (int wi = 0; wi < 2; wi++) {
        const int64_t W = windows[wi];
        lc_error err = {0};
        char spec[32];
        snprintf(spec, sizeof spec, "window:%lld", (long long)W);
        lc_context_opts ro = base_opts(1);
        ro.attn = spec;
        lc_context *rc = NULL;
        CHECK_OK(lc_context_create(m, &ro, &rc, &err), &err);
        if (!rc) continue;
        CHECK_OK(lc_context_eval(rc, tok, N_TOK, ref, true, &err), &err);
        lc_context_free(rc);
        for (int threads = 1; threads <= 2; threads++) {
            lc_context_opts po = base_opts(threads);
            CHECK_OK(lc_kv_policy_parse(spec, &po, &err), &err);
            lc_context *pc = NULL;
            CHECK_OK(lc_context_create(m, &po, &pc, &err), &err);
            if (!pc) continue;
            CHECK_OK(stream(pc, tok, N_TOK, 11, got, V, &err), &err);
            lc_kv_stats ks;
            lc_context_kv_stats(pc, &ks);
            CHECK(ks.n_seen == N_TOK && ks.n_slots < N_TOK / 2, "%s %s: %lld seen in %lld slots", name, spec,
                  (long long)ks.n_seen, (long long)ks.n_slots);
            lc_context_free(pc);
            const double d = max_diff(got, ref, (size_t)N_TOK * V);
            fprintf(stderr, "%s %s, %d thread(s): ring vs full cache + window kernel max diff %.3g\n", name, spec,
                    threads, d);
            CHECK(d <= 1e-4, "%s %s (%d threads): the ring differs from the window kernel by %g", name, spec, threads,
                  d);
            if (threads == 1) memcpy(got1, got, (size_t)N_TOK * V * sizeof(float));
            else CHECK(memcmp(got1, got, (size_t)N_TOK * V * sizeof(float)) == 0, "%s %s: 1 and 2 threads differ",
                       name, spec);
        }
    }
    free(ref);
    free(got);
    free(got1);
}

/* ---- window layers in their own rings under window/sinks ---------------------- */

/* With a policy window >= the model's window W, window layers keep rings of
 * W + B - 1 slots (rebased with the main ring) instead of the policy's
 * layout: the logits must equal the policy's layout (--swa-full keeps it),
 * through several rebases. */
static void check_wring_layout(const lc_model *m, const char *name, const int32_t *tok) {
    const int32_t V = m->cfg.vocab_size;
    float *a = calloc((size_t)N_TOK * V, sizeof(float)), *b = calloc((size_t)N_TOK * V, sizeof(float));
    const char *specs[3] = {"sinks:2:34", "window:33", "sinks:4:60"};
    for (int i = 0; i < 3; i++) {
        lc_error err = {0};
        lc_context_opts o = base_opts(1);
        CHECK_OK(lc_kv_policy_parse(specs[i], &o, &err), &err);
        lc_context_opts of = o;
        of.swa_full = true;
        lc_context *c = NULL, *cf = NULL;
        CHECK_OK(lc_context_create(m, &o, &c, &err), &err);
        CHECK_OK(lc_context_create(m, &of, &cf, &err), &err);
        lc_context_memory mr, mf;
        CHECK_OK(lc_context_memory_need(m, &o, &mr, &err), &err);
        CHECK_OK(lc_context_memory_need(m, &of, &mf, &err), &err);
        if (c && cf) {
            CHECK(c->wring.n_layers > 0 && cf->wring.n_layers == 0, "%s %s: rings %d / %d", name, specs[i],
                  c->wring.n_layers, cf->wring.n_layers);
            CHECK_OK(stream(c, tok, N_TOK, 9, a, V, &err), &err);
            CHECK_OK(stream(cf, tok, N_TOK, 9, b, V, &err), &err);
            const double d = max_diff(a, b, (size_t)N_TOK * V);
            fprintf(stderr,
                    "%s %s: window layers' own rings (%lld slots) vs the policy's layout: max diff %.3g, %lld rebases; "
                    "KV %zu vs %zu bytes\n", name, specs[i], (long long)c->wring.cap, d, (long long)c->kv.n_shifts,
                    mr.kv_bytes, mf.kv_bytes);
            CHECK(d <= 1e-5, "%s %s: the window layers' rings differ from the policy's layout by %g", name, specs[i], d);
            CHECK(c->kv.n_shifts >= (i == 0 ? 2 : 1), "%s %s: %lld rebases", name, specs[i], (long long)c->kv.n_shifts);
            CHECK(mr.kv_bytes < mf.kv_bytes && mr.ring_bytes > 0, "%s %s: KV %zu bytes with rings, %zu without", name,
                  specs[i], mr.kv_bytes, mf.kv_bytes);
        }
        lc_context_free(c);
        lc_context_free(cf);
    }
    free(a);
    free(b);
}

/* Under shift:KEEP with room (-c >= 2 (W + B) + KEEP), window layers keep
 * their own rings, shifted with the cache: 400 tokens (the fixture's, cycled)
 * through several shifts must give the policy's layout's logits (--swa-full),
 * and a session saved after the shifts continues bit for bit. */
static void check_wring_shift(const lc_model *m, const int32_t *tok160) {
    enum { N = 400 };
    const int32_t V = m->cfg.vocab_size;
    int32_t *tok = malloc(N * sizeof *tok);
    for (int i = 0; i < N; i++) tok[i] = tok160[i % N_TOK];
    float *a = calloc((size_t)N * V, sizeof(float)), *b = calloc((size_t)N * V, sizeof(float));
    lc_error err = {0};
    lc_context_opts o = base_opts(1);
    o.n_ctx = 112;
    o.n_batch = 16;
    CHECK_OK(lc_kv_policy_parse("shift:4", &o, &err), &err);
    lc_context_opts of = o;
    of.swa_full = true;
    lc_context *c = NULL, *cf = NULL, *c2 = NULL;
    CHECK_OK(lc_context_create(m, &o, &c, &err), &err);
    CHECK_OK(lc_context_create(m, &of, &cf, &err), &err);
    CHECK_OK(lc_context_create(m, &o, &c2, &err), &err);
    if (c && cf && c2) {
        CHECK(c->wring.n_layers == 1 && cf->wring.n_layers == 0, "gpt-oss shift: rings %d / %d", c->wring.n_layers,
              cf->wring.n_layers);
        CHECK_OK(stream(c, tok, 300, 9, a, V, &err), &err);
        CHECK_OK(stream(cf, tok, 300, 9, b, V, &err), &err);
        char path[256];
        snprintf(path, sizeof path, "/tmp/lc_test_hybrid_kv_%d_s.bin", (int)getpid());
        CHECK_OK(lc_session_save(c, path, NULL, 0, NULL, 0, NULL, &err), &err);
        CHECK_OK(stream(c2, tok + 7, 50, 5, a + 300 * V, V, &err), &err);
        CHECK_OK(lc_session_load(c2, path, NULL, NULL, NULL, NULL, NULL, NULL, &err), &err);
        remove(path);
        CHECK_OK(stream(c, tok + 300, N - 300, 7, a + 300 * V, V, &err), &err);
        CHECK_OK(stream(cf, tok + 300, N - 300, 7, b + 300 * V, V, &err), &err);
        float *a2 = calloc((size_t)(N - 300) * V, sizeof(float));
        CHECK_OK(stream(c2, tok + 300, N - 300, 7, a2, V, &err), &err);
        CHECK(memcmp(a2, a + 300 * V, (size_t)(N - 300) * V * sizeof(float)) == 0,
              "gpt-oss shift with rings: the loaded session does not continue bit for bit (%g)",
              max_diff(a2, a + 300 * V, (size_t)(N - 300) * V));
        free(a2);
        const double d = max_diff(a, b, (size_t)N * V);
        lc_context_memory mr, mf;
        CHECK_OK(lc_context_memory_need(m, &o, &mr, &err), &err);
        CHECK_OK(lc_context_memory_need(m, &of, &mf, &err), &err);
        fprintf(stderr, "gpt-oss shift:4 -c 112: own rings vs the policy's layout over %d tokens, %lld shifts: max diff "
                        "%.3g; KV %zu vs %zu bytes; a session after the shifts continues bit for bit\n",
                N, (long long)c->kv.n_shifts, d, mr.kv_bytes, mf.kv_bytes);
        CHECK(d <= 1e-5 && c->kv.n_shifts >= 4, "gpt-oss shift with rings: differs by %g (%lld shifts)", d,
              (long long)c->kv.n_shifts);
    }
    lc_context_free(c);
    lc_context_free(cf);
    lc_context_free(c2);
    free(a);
    free(b);
    free(tok);
}

/* ---- sinks:S:W against StreamingLLM done by hand through the hook ------------ */

typedef struct {
    const lc_model *m;
    int64_t S, W;
    int32_t n_layers;
    float *k[MAX_LAYERS], *v[MAX_LAYERS]; /* [N_TOK, kv_dim] at true positions */
    lc_rope_cache *rope;
    float *qr;                            /* one re-rotated query row */
    bool true_pos;                        /* a wrong variant: no re-rotation */
} sl_ref;

static lc_status sl_hook(void *user, const lc_attn_hook_call *c, lc_error *err) {
    sl_ref *r = user;
    const int32_t H = c->shape.n_head, HK = c->shape.n_head_kv, d = c->shape.head_dim, G = H / HK;
    const int64_t kvd = (int64_t)HK * d;
    if (c->layer < 0 || c->layer >= MAX_LAYERS || c->pos0 + c->n_new > N_TOK)
        return lc_fail(err, LC_ERR_INTERNAL, "hook: layer %d at %lld", c->layer, (long long)c->pos0);
    memcpy(r->k[c->layer] + c->pos0 * kvd, c->k, (size_t)(c->n_new * kvd) * sizeof(float));
    memcpy(r->v[c->layer] + c->pos0 * kvd, c->v, (size_t)(c->n_new * kvd) * sizeof(float));
    const double scale = c->shape.scale > 0.0f ? (double)c->shape.scale : 1.0 / sqrt((double)d);
    const float *sinks = (r->m->cfg.fam.flags & LC_ARCH_ATTN_SINKS)
                             ? (const float *)r->m->w.layers[c->layer].attn_sinks.data
                             : NULL;
    const float *K = r->k[c->layer], *Vv = r->v[c->layer];
    double sc[N_TOK];
    for (int64_t i = 0; i < c->n_q; i++) {
        const int64_t t = c->q_pos0 + i, ct = r->true_pos ? t : LC_MIN(t, r->S + r->W - 1);
        /* the query seen from its position within the cache, for the sinks */
        memcpy(r->qr, c->q + i * H * d, (size_t)H * d * sizeof(float));
        if (ct != t) lc_rope_cache_rotate_delta(r->rope, r->qr, H, d, ct - t);
        for (int32_t h = 0; h < H; h++) {
            const float *qt = c->q + (i * H + h) * d, *qs = r->qr + h * d;
            const int32_t hk = h / G;
            double mx = sinks ? (double)sinks[h] : -INFINITY;
            int64_t nk = 0;
            int64_t keys[N_TOK];
            for (int64_t p = 0; p <= t; p++) {
                const bool is_sink = p < r->S, in_window = t - p < r->W;
                if (!is_sink && !in_window) continue;
                const float *q = is_sink ? qs : qt; /* window keys: true distances are cache distances */
                const float *kp = K + p * kvd + hk * d;
                double s = 0.0;
                for (int32_t e = 0; e < d; e++) s += (double)q[e] * (double)kp[e];
                sc[nk] = s * scale;
                keys[nk++] = p;
                if (sc[nk - 1] > mx) mx = sc[nk - 1];
            }
            double den = sinks ? exp((double)sinks[h] - mx) : 0.0, o[256];
            for (int32_t e = 0; e < d; e++) o[e] = 0.0;
            for (int64_t j = 0; j < nk; j++) {
                const double w = exp(sc[j] - mx);
                den += w;
                const float *vp = Vv + keys[j] * kvd + hk * d;
                for (int32_t e = 0; e < d; e++) o[e] += w * (double)vp[e];
            }
            for (int32_t e = 0; e < d; e++) c->out[(i * H + h) * d + e] = (float)(o[e] / den);
        }
    }
    return LC_OK;
}

static void check_sinks_hook(const lc_model *m, const char *name, const int32_t *tok, int32_t swa) {
    const int32_t V = m->cfg.vocab_size;
    CHECK(m->cfg.n_layers <= MAX_LAYERS && m->cfg.head_dim <= 256, "%s: shape", name);
    float *ref = calloc((size_t)N_TOK * V, sizeof(float)), *got = calloc((size_t)N_TOK * V, sizeof(float));
    const int64_t cases[3][3] = {{4, 24, 11}, {1, 40, 160}, {6, 17, 1}}; /* S, W, call size */
    for (int ci = 0; ci < 3; ci++) {
        lc_error err = {0};
        sl_ref r;
        memset(&r, 0, sizeof r);
        r.m = m;
        r.S = cases[ci][0];
        r.W = cases[ci][1];
        const int64_t kvd = (int64_t)m->cfg.n_kv_heads * m->cfg.head_dim;
        for (int l = 0; l < m->cfg.n_layers; l++) {
            r.k[l] = calloc((size_t)(N_TOK * kvd), sizeof(float));
            r.v[l] = calloc((size_t)(N_TOK * kvd), sizeof(float));
        }
        r.qr = calloc((size_t)m->cfg.n_heads * m->cfg.head_dim, sizeof(float));
        lc_context_opts ro = base_opts(1);
        ro.swa = swa;
        lc_context *rc = NULL;
        CHECK_OK(lc_context_create(m, &ro, &rc, &err), &err);
        if (rc) CHECK_OK(lc_rope_cache_create(lc_context_rope(rc), 512, &r.rope, &err), &err);
        if (rc && r.rope) {
            CHECK_OK(lc_context_set_attn_hook(rc, sl_hook, &r, &err), &err);
            CHECK_OK(lc_context_eval(rc, tok, N_TOK, ref, true, &err), &err);
        }
        lc_context_free(rc);
        char spec[48];
        snprintf(spec, sizeof spec, "sinks:%lld:%lld", (long long)r.S, (long long)r.W);
        for (int threads = 1; threads <= 2; threads++) {
            lc_context_opts po = base_opts(threads);
            po.swa = swa;
            CHECK_OK(lc_kv_policy_parse(spec, &po, &err), &err);
            lc_context *pc = NULL;
            CHECK_OK(lc_context_create(m, &po, &pc, &err), &err);
            if (!pc) continue;
            CHECK_OK(stream(pc, tok, N_TOK, cases[ci][2], got, V, &err), &err);
            lc_kv_stats ks;
            lc_context_kv_stats(pc, &ks);
            lc_context_free(pc);
            const double d = max_diff(got, ref, (size_t)N_TOK * V);
            /* the same, positions off by one in the sinks' query (the error
             * the check must see): evaluated once, on the first case */
            fprintf(stderr, "%s %s (calls of %lld, %d thread(s), %lld rebases): vs StreamingLLM by hand max diff %.3g\n",
                    name, spec, (long long)cases[ci][2], threads, (long long)ks.n_shifts, d);
            CHECK(d <= 1e-4, "%s %s: differs from StreamingLLM by hand by %g", name, spec, d);
            CHECK(ci != 0 || ks.n_shifts > 0, "%s %s: no rebase happened", name, spec);
        }
        /* the check can fail: the same reference with the sinks seen from
         * the query's true position (no re-rotation) is far from it */
        if (ci == 0) {
            float *off = calloc((size_t)N_TOK * V, sizeof(float));
            lc_context *oc = NULL;
            r.true_pos = true;
            CHECK_OK(lc_context_create(m, &ro, &oc, &err), &err);
            if (oc) CHECK_OK(lc_context_set_attn_hook(oc, sl_hook, &r, &err), &err);
            if (oc) CHECK_OK(lc_context_eval(oc, tok, N_TOK, off, true, &err), &err);
            lc_context_free(oc);
            const double d = max_diff(got, off, (size_t)N_TOK * V);
            fprintf(stderr, "%s %s: the policy vs sinks at their true distances (must be far): %.3g\n", name, spec, d);
            CHECK(d > 1e-2, "%s %s: the sinks' positions change nothing (%g)", name, spec, d);
            free(off);
        }
        lc_rope_cache_free(r.rope);
        for (int l = 0; l < m->cfg.n_layers; l++) {
            free(r.k[l]);
            free(r.v[l]);
        }
        free(r.qr);
    }
    free(ref);
    free(got);
}

/* gpt-oss with its window layers: sinks:S:W equals FULL until something is
 * evicted (S + W tokens), and differs after. */
static void check_sinks_window_layers(const lc_model *m, const int32_t *tok) {
    const int32_t V = m->cfg.vocab_size;
    float *ref = calloc((size_t)N_TOK * V, sizeof(float)), *got = calloc((size_t)N_TOK * V, sizeof(float));
    lc_error err = {0};
    lc_context_opts ro = base_opts(1);
    lc_context *rc = NULL;
    CHECK_OK(lc_context_create(m, &ro, &rc, &err), &err);
    if (rc) CHECK_OK(lc_context_eval(rc, tok, N_TOK, ref, true, &err), &err);
    lc_context_free(rc);
    const int64_t S = 4, W = 60;
    lc_context_opts po = base_opts(1);
    CHECK_OK(lc_kv_policy_parse("sinks:4:60", &po, &err), &err);
    lc_context *pc = NULL;
    CHECK_OK(lc_context_create(m, &po, &pc, &err), &err);
    if (pc) CHECK_OK(stream(pc, tok, N_TOK, 13, got, V, &err), &err);
    lc_context_free(pc);
    const double before = max_diff(got, ref, (size_t)(S + W) * V);
    const double after = max_diff(got + (S + W) * V, ref + (S + W) * V, (size_t)(N_TOK - S - W) * V);
    fprintf(stderr, "gpt-oss sinks:4:60 with window layers vs full: tokens 0-63 %.3g, 64-159 %.3g\n", before, after);
    CHECK(before <= 1e-4, "gpt-oss sinks:4:60: differs from full before any eviction by %g", before);
    CHECK(after > 1e-2, "gpt-oss sinks:4:60: eviction changes nothing (%g)", after);
    free(ref);
    free(got);
}

/* ---- DeltaNet states do not depend on the policy ------------------------------ */

static size_t dn_states(const lc_context *ctx, unsigned char *buf, size_t cap) {
    size_t off = 0;
    for (int32_t l = 0; l < ctx->sh.n_layers; l++) {
        if (!ctx->dn[l]) continue;
        const size_t n = lc_deltanet_state_bytes(ctx->dn[l]);
        if (off + n > cap || lc_deltanet_state_save(ctx->dn[l], buf + off, n, NULL) != LC_OK) return 0;
        off += n;
    }
    return off;
}

static const char *const policies[] = {"window:24", "sinks:4:24", "shift:4", "h2o:4:16:8", "sinks:4:40"};
#define N_POLICIES 5 /* sinks:4:40: gpt-oss's window layers in their own rings */

static void check_dn_states(const lc_model *m, const int32_t *tok) {
    const int32_t V = m->cfg.vocab_size;
    const size_t cap = 1 << 20;
    unsigned char *a = malloc(cap), *b = malloc(cap);
    float *lg = calloc((size_t)N_TOK * V, sizeof(float));
    for (int pi = 0; pi < N_POLICIES; pi++) {
        lc_error err = {0};
        lc_context_opts po = base_opts(1);
        po.n_ctx = 64; /* shift: the cache holds 64 tokens, shifts 3 times */
        CHECK_OK(lc_kv_policy_parse(policies[pi], &po, &err), &err);
        lc_context *pc = NULL, *fc = NULL;
        CHECK_OK(lc_context_create(m, &po, &pc, &err), &err);
        if (!pc) continue;
        lc_context_opts fo = base_opts(1);
        fo.n_batch = lc_context_n_batch(pc); /* the same chunks: the chunked form depends on them */
        CHECK_OK(lc_context_create(m, &fo, &fc, &err), &err);
        if (fc) {
            CHECK_OK(stream(pc, tok, N_TOK, 11, lg, V, &err), &err);
            CHECK_OK(stream(fc, tok, N_TOK, 11, lg, V, &err), &err);
            lc_kv_stats ks;
            lc_context_kv_stats(pc, &ks);
            const size_t na = dn_states(pc, a, cap), nb = dn_states(fc, b, cap);
            CHECK(na > 0 && na == nb && memcmp(a, b, na) == 0,
                  "qwen3-next %s: the DeltaNet states differ from a full context's (%zu / %zu bytes)", policies[pi],
                  na, nb);
            CHECK(ks.n_evicted > 0, "qwen3-next %s: nothing was evicted", policies[pi]);
            fprintf(stderr, "qwen3-next %s: %lld tokens evicted, DeltaNet states (%zu bytes) equal a full context's\n",
                    policies[pi], (long long)ks.n_evicted, na);
        }
        lc_context_free(pc);
        lc_context_free(fc);
    }
    free(a);
    free(b);
    free(lg);
}

/* ---- sessions under every policy ------------------------------------------------ */

static lc_status continue_from(lc_context *ctx, const int32_t *tok, float *out, int32_t V, lc_error *err) {
    /* 20 tokens one at a time, then a chunk of 9 */
    lc_status st = LC_OK;
    for (int i = 0; i < 20 && st == LC_OK; i++) st = lc_context_eval(ctx, tok + i, 1, out + i * V, false, err);
    if (st == LC_OK) st = lc_context_eval(ctx, tok + 20, 9, out + 20 * V, true, err);
    return st;
}

static void check_sessions(const lc_model *m, const char *name, const int32_t *tok) {
    const int32_t V = m->cfg.vocab_size;
    float *a = calloc((size_t)N_TOK * V, sizeof(float)), *b = calloc((size_t)N_TOK * V, sizeof(float));
    char path[256];
    snprintf(path, sizeof path, "/tmp/lc_test_hybrid_kv_%d.bin", (int)getpid());
    const int64_t n0 = 100; /* the prefix streamed before the save */
    for (int pi = 0; pi < N_POLICIES; pi++) {
        for (int kt = 0; kt < 2; kt++) {
            lc_error err = {0};
            lc_context_opts o = base_opts(1);
            o.n_ctx = 64;
            if (kt) o.k_type = o.v_type = LC_DTYPE_F16;
            CHECK_OK(lc_kv_policy_parse(policies[pi], &o, &err), &err);
            lc_context *c1 = NULL, *c2 = NULL;
            CHECK_OK(lc_context_create(m, &o, &c1, &err), &err);
            CHECK_OK(lc_context_create(m, &o, &c2, &err), &err);
            if (!c1 || !c2) {
                lc_context_free(c1);
                lc_context_free(c2);
                continue;
            }
            CHECK_OK(stream(c1, tok, n0, 13, a, V, &err), &err);
            CHECK_OK(lc_session_save(c1, path, tok, n0, NULL, 0, NULL, &err), &err);
            CHECK_OK(stream(c2, tok + 50, 70, 7, b, V, &err), &err); /* other tokens */
            int32_t *hist = NULL;
            int64_t n_hist = 0;
            lc_status st = lc_session_load(c2, path, NULL, &hist, &n_hist, NULL, NULL, NULL, &err);
            CHECK_OK(st, &err);
            CHECK(st != LC_OK || (n_hist == n0 && memcmp(hist, tok, (size_t)n0 * sizeof *hist) == 0),
                  "%s %s: history of %lld tokens", name, policies[pi], (long long)n_hist);
            free(hist);
            if (st == LC_OK) {
                memset(a, 0, (size_t)29 * V * sizeof(float));
                memset(b, 0, (size_t)29 * V * sizeof(float));
                CHECK_OK(continue_from(c1, tok + n0, a, V, &err), &err);
                CHECK_OK(continue_from(c2, tok + n0, b, V, &err), &err);
                CHECK(memcmp(a, b, (size_t)29 * V * sizeof(float)) == 0,
                      "%s %s (%s KV): the loaded session does not continue bit for bit (max diff %g)", name,
                      policies[pi], kt ? "f16" : "f32", max_diff(a, b, (size_t)29 * V));
            }
            lc_kv_stats ks;
            lc_context_kv_stats(c1, &ks);
            CHECK(ks.n_evicted > 0, "%s %s: nothing evicted before the save", name, policies[pi]);
            lc_context_free(c1);
            lc_context_free(c2);
        }
    }
    fprintf(stderr, "%s: sessions under %d policies (f32 and f16 KV) continue bit for bit\n", name, N_POLICIES);
    remove(path);
    free(a);
    free(b);
}

/* ---- gpt-oss under the full policy: its window layers' rings in a session ---- */

static void write_file(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, n, f);
        fclose(f);
    }
}

static void check_ring_sessions(const lc_model *m, const int32_t *tok) {
    const int32_t V = m->cfg.vocab_size;
    float *a = calloc((size_t)N_TOK * V, sizeof(float)), *b = calloc((size_t)N_TOK * V, sizeof(float));
    char path[256], path2[256];
    snprintf(path, sizeof path, "/tmp/lc_test_hybrid_kv_%d_r.bin", (int)getpid());
    snprintf(path2, sizeof path2, "/tmp/lc_test_hybrid_kv_%d_r2.bin", (int)getpid());
    lc_error err = {0};
    lc_context_opts o = base_opts(1);
    o.n_batch = 16; /* rings of 32 + 16 - 1 slots: they wrap over 100 tokens */
    lc_context *c1 = NULL, *c2 = NULL;
    CHECK_OK(lc_context_create(m, &o, &c1, &err), &err);
    CHECK_OK(lc_context_create(m, &o, &c2, &err), &err);
    if (c1 && c2) {
        CHECK(c1->wring.n_layers == 1 && c1->wring.cap == 47, "gpt-oss: %d rings of %lld slots", c1->wring.n_layers,
              (long long)c1->wring.cap);
        CHECK_OK(stream(c1, tok, 100, 13, a, V, &err), &err);
        CHECK_OK(lc_session_save(c1, path, tok, 100, NULL, 0, NULL, &err), &err);
        CHECK_OK(stream(c2, tok + 50, 30, 7, b, V, &err), &err);
        CHECK_OK(lc_session_load(c2, path, NULL, NULL, NULL, NULL, NULL, NULL, &err), &err);
        CHECK_OK(continue_from(c1, tok + 100, a, V, &err), &err);
        CHECK_OK(continue_from(c2, tok + 100, b, V, &err), &err);
        CHECK(memcmp(a, b, (size_t)29 * V * sizeof(float)) == 0,
              "gpt-oss full + rings: the loaded session does not continue bit for bit (max diff %g)",
              max_diff(a, b, (size_t)29 * V));
        fprintf(stderr, "gpt-oss full policy with window-layer rings: a session continues bit for bit\n");
        /* refusals: a ring slot holding a position it cannot hold, another
         * window (--swa), a context without rings (--swa-full) */
        FILE *f = fopen(path, "rb");
        unsigned char *img = malloc(1 << 22);
        const size_t n = f ? fread(img, 1, 1 << 22, f) : 0;
        if (f) fclose(f);
        CHECK(n > 200 && img[8] == 3 && img[188] == 1, "gpt-oss ring session: version %d, rings %d", img[8], img[188]);
        /* the ring section sits before the logits (flag 1): find its header */
        const size_t tail = 8 + (size_t)V * 4, ring = 24 + 47 * 8 + 2 * 47 * (size_t)c1->wring.k_row_bytes;
        const size_t at = n - tail - ring;
        int64_t w0, cap0;
        memcpy(&w0, img + at, 8);
        memcpy(&cap0, img + at + 8, 8);
        CHECK(w0 == 32 && cap0 == 47, "gpt-oss ring section at %zu: window %lld, slots %lld", at, (long long)w0,
              (long long)cap0);
        int64_t bad = 5; /* slot 0 cannot hold position 5 */
        memcpy(img + at + 24, &bad, 8);
        uint64_t h = 0xcbf29ce484222325ull;
        for (size_t i = 0; i < n - 8; i++) h = (h ^ img[i]) * 0x100000001b3ull;
        memcpy(img + n - 8, &h, 8);
        write_file(path2, img, n);
        lc_status st = lc_session_load(c2, path2, NULL, NULL, NULL, NULL, NULL, NULL, &err);
        CHECK(st == LC_ERR_FORMAT && strstr(err.msg, "ring slot"), "gpt-oss: a bad ring position is accepted (%s)",
              err.msg);
        free(img);
        lc_context_opts os = o;
        os.swa = 24;
        lc_context *cs = NULL;
        CHECK_OK(lc_context_create(m, &os, &cs, &err), &err);
        if (cs) {
            st = lc_session_load(cs, path, NULL, NULL, NULL, NULL, NULL, NULL, &err);
            CHECK(st == LC_ERR_FORMAT && strstr(err.msg, "--swa"), "gpt-oss: another window is accepted (%s)", err.msg);
        }
        lc_context_free(cs);
        lc_context_opts of = o;
        of.swa_full = true;
        lc_context *cf = NULL;
        CHECK_OK(lc_context_create(m, &of, &cf, &err), &err);
        if (cf) {
            st = lc_session_load(cf, path, NULL, NULL, NULL, NULL, NULL, NULL, &err);
            CHECK(st == LC_ERR_FORMAT && strstr(err.msg, "rings"), "gpt-oss: a context without rings loads rings (%s)",
                  err.msg);
        }
        lc_context_free(cf);
    }
    lc_context_free(c1);
    lc_context_free(c2);
    remove(path);
    remove(path2);
    free(a);
    free(b);
}

/* ---- KV rows by position (the server's prefix tree) are refused -------------- */

static void check_rows_refused(const lc_model *m, const char *name, const char *why) {
    lc_error err = {0};
    lc_context_opts o = base_opts(1);
    o.n_batch = 16;
    lc_context *c = NULL;
    CHECK_OK(lc_context_create(m, &o, &c, &err), &err);
    if (!c) return;
    int32_t t[3] = {1, 2, 3};
    CHECK_OK(lc_context_eval(c, t, 3, NULL, false, &err), &err);
    char buf[64];
    const lc_status st = lc_context_kv_read(c, 0, 1, buf, sizeof buf, &err);
    CHECK(lc_context_kv_row_bytes(c) == 0 && st == LC_ERR_UNSUPPORTED && strstr(err.msg, why),
          "%s: KV rows must be refused naming %s (%s)", name, why, err.msg);
    lc_context_free(c);
}

/* ---- truncation re-evaluates when the state cannot be cut back --------------- */

static void check_truncate(const lc_model *m, const char *name, const int32_t *tok, int64_t n_ctx) {
    const int32_t V = m->cfg.vocab_size;
    float *a = calloc((size_t)N_TOK * V, sizeof(float)), *b = calloc((size_t)N_TOK * V, sizeof(float));
    lc_error err = {0};
    lc_context_opts o = base_opts(1);
    o.n_ctx = n_ctx;
    o.n_batch = 16;
    lc_context *c1 = NULL, *c2 = NULL;
    CHECK_OK(lc_context_create(m, &o, &c1, &err), &err);
    CHECK_OK(lc_context_create(m, &o, &c2, &err), &err);
    if (c1 && c2) {
        const int64_t keep = 37;
        CHECK_OK(lc_context_eval(c1, tok, 120, NULL, false, &err), &err);
        CHECK_OK(lc_context_truncate(c1, keep, &err), &err);
        CHECK(lc_context_n_past(c1) == keep, "%s: %lld held after truncate", name, (long long)lc_context_n_past(c1));
        CHECK_OK(lc_context_eval(c1, tok + 100, 30, a, true, &err), &err);
        CHECK_OK(lc_context_eval(c2, tok, keep, NULL, false, &err), &err);
        CHECK_OK(lc_context_eval(c2, tok + 100, 30, b, true, &err), &err);
        CHECK(memcmp(a, b, (size_t)30 * V * sizeof(float)) == 0,
              "%s: after truncate, the logits differ from a context fed the kept tokens (max diff %g)", name,
              max_diff(a, b, (size_t)30 * V));
        fprintf(stderr, "%s: truncate 120 -> %lld re-evaluates; the continuation equals a fresh context's\n", name,
                (long long)keep);
    }
    lc_context_free(c1);
    lc_context_free(c2);
    /* after a context shift the cache no longer holds the history: refused */
    lc_context_opts so = base_opts(1);
    so.n_ctx = 48;
    CHECK_OK(lc_kv_policy_parse("shift:4", &so, &err), &err);
    lc_context *sc = NULL;
    CHECK_OK(lc_context_create(m, &so, &sc, &err), &err);
    if (sc) {
        CHECK_OK(lc_context_eval(sc, tok, 60, NULL, false, &err), &err);
        lc_status st = lc_context_truncate(sc, 10, &err);
        if (m->cfg.fam.flags & LC_ARCH_DELTANET)
            CHECK(st == LC_ERR_UNSUPPORTED && strstr(err.msg, "recurrent"),
                  "%s: truncate after a shift must be refused naming the state (%d: %s)", name, (int)st, err.msg);
    }
    lc_context_free(sc);
    free(a);
    free(b);
}

int main(void) {
    int32_t tok[N_TOK];
    lc_model *qn = load("fixtures/qwen3-next", tok);
    if (qn) {
        check_window(qn, "qwen3-next", tok, 24, 41);
        check_sinks_hook(qn, "qwen3-next", tok, 0);
        check_dn_states(qn, tok);
        check_sessions(qn, "qwen3-next", tok);
        check_truncate(qn, "qwen3-next", tok, 256);
        check_rows_refused(qn, "qwen3-next", "recurrent state");
        lc_model_free(qn);
    }
    lc_model *go = load("fixtures/gpt-oss", tok);
    if (go) {
        check_window(go, "gpt-oss", tok, 24, 41); /* 41: its window layers in their own rings */
        check_sinks_hook(go, "gpt-oss (--swa -1)", tok, -1);
        check_sinks_window_layers(go, tok);
        check_wring_layout(go, "gpt-oss", tok);
        check_wring_shift(go, tok);
        check_sessions(go, "gpt-oss", tok);
        check_ring_sessions(go, tok);
        /* rings of 32 + 16 - 1 slots: keeping 37 of 120 needs keys they overwrote */
        check_truncate(go, "gpt-oss", tok, 256);
        check_rows_refused(go, "gpt-oss", "rings");
        lc_model_free(go);
    }
    /* Gemma-3: window layers with their own RoPE (base 1e4) keep their own
     * rings under window:W >= 32, rebased with that RoPE */
    lc_model *g3 = load("fixtures/gemma3", tok);
    if (g3) {
        check_window(g3, "gemma3", tok, 33, 41);
        lc_context_opts o = base_opts(1);
        lc_error err = {0};
        CHECK_OK(lc_kv_policy_parse("window:24", &o, &err), &err);
        lc_context *c = NULL;
        lc_status st = lc_context_create(g3, &o, &c, &err);
        CHECK(st == LC_ERR_UNSUPPORTED && strstr(err.msg, "their own"), "gemma3 window:24 must be refused (%s)", err.msg);
        lc_context_free(c);
        lc_model_free(g3);
    }
    return lc_test_finish("test_hybrid_kv");
}
