/*
 * The evaluation suite against the real runtime, on seeded random models
 * (lc_model_create_random, no files needed):
 *
 *  - the attention observer: in every layer and chunk, the probabilities
 *    lc_eval_attn_probs computes sum to 1, are zero for keys a row may not
 *    see (causal; window + sinks), and weight the cached values into exactly
 *    the attention output the runtime computed (sum_j p_j v_j == out); in
 *    layer 0 they equal a recomputation from the weights here (embedding,
 *    RMSNorm, Wq/Wk, RoPE by its formula in double, softmax), GQA included;
 *    logits are bit-identical with and without an observer;
 *  - lc_context_truncate: continuing after a truncation gives the logits of a
 *    fresh evaluation; its refusals;
 *  - the context-backed lc_eval_model: append_logprobs equal log-softmax of
 *    lc_context_eval's logits, continuing a sequence included; prefix reuse
 *    gives the same answers as evaluating every prompt from scratch, and
 *    reuses tokens;
 *  - retention: per layer and head the bucket masses sum to 1, needle mass in
 *    [0, 1], keys per bucket as counted here, probe rows = probes x samples,
 *    duplicates and out-of-prompt probes dropped; LINEAR/CHUNKED attention
 *    and cache policies other than full refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/eval.h"
#include "longctx/runtime.h"
#include "test_model_util.h"
#include "test_util.h"

/* The tests' llama configuration with a training context of 256. */
static lc_model_config config(int32_t dim, int32_t hidden, int32_t layers, int32_t heads, int32_t kv_heads,
                              int32_t head_dim, int32_t vocab) {
    lc_model_config c = test_llama_config(dim, hidden, layers, heads, kv_heads, head_dim, vocab);
    c.ctx_train = 256;
    return c;
}

/* A random f32 model whose Wq and Wk are scaled up so attention is peaked
 * (N(0, 0.02) weights give nearly uniform rows, a weak test). */
static lc_model *make_model(const lc_model_config *c, uint64_t seed, float qk_scale) {
    lc_model *m = NULL;
    lc_error err;
    CHECK_OK(lc_model_create_random(c, LC_DTYPE_F32, seed, &m, &err), &err);
    if (!m) return NULL;
    for (int l = 0; l < c->n_layers; l++) {
        lc_tensor *t[2] = {&m->w.layers[l].wq, &m->w.layers[l].wk};
        for (int i = 0; i < 2; i++) {
            float *w = (float *)t[i]->data; /* the random model owns writable memory */
            for (int64_t k = 0; k < t[i]->rows * t[i]->cols; k++) w[k] *= qk_scale;
        }
    }
    return m;
}

static void random_tokens(int32_t *t, int64_t n, int32_t vocab, uint64_t seed) {
    lc_rng r;
    lc_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) t[i] = (int32_t)lc_rng_below(&r, (uint64_t)vocab);
}

/* ---- Layer 0 from the weights, in double ------------------------------------------- */

/* q [n, H, d], k [n, Hkv, d] of layer 0 for tokens [n]. */
static void layer0_qk(const lc_model *m, const int32_t *tok, int64_t n, double *q, double *k) {
    const lc_model_config *c = &m->cfg;
    const int D = c->dim, d = c->head_dim, H = c->n_heads, Hk = c->n_kv_heads;
    const float *E = m->w.tok_embd.data, *g = m->w.layers[0].attn_norm.data;
    const float *Wq = m->w.layers[0].wq.data, *Wk = m->w.layers[0].wk.data;
    double *x = malloc((size_t)D * sizeof(double));
    for (int64_t t = 0; t < n; t++) {
        double ss = 0.0;
        for (int i = 0; i < D; i++) ss += (double)E[(size_t)tok[t] * D + i] * E[(size_t)tok[t] * D + i];
        const double inv = 1.0 / sqrt(ss / D + (double)c->norm_eps);
        for (int i = 0; i < D; i++) x[i] = E[(size_t)tok[t] * D + i] * inv * g[i];
        for (int r = 0; r < H * d; r++) {
            double s = 0.0;
            for (int i = 0; i < D; i++) s += (double)Wq[(size_t)r * D + i] * x[i];
            q[((size_t)t * H * d) + r] = s;
        }
        for (int r = 0; r < Hk * d; r++) {
            double s = 0.0;
            for (int i = 0; i < D; i++) s += (double)Wk[(size_t)r * D + i] * x[i];
            k[((size_t)t * Hk * d) + r] = s;
        }
        /* RoPE, NORM layout: pairs (2i, 2i+1) turn by t * base^(-2i/d) */
        for (int h = 0; h < H + Hk; h++) {
            double *v = h < H ? q + ((size_t)t * H + h) * d : k + ((size_t)t * Hk + (h - H)) * d;
            for (int i = 0; i < d / 2; i++) {
                const double th = (double)t * pow((double)c->rope.freq_base, -2.0 * i / d);
                const double a = v[2 * i], b = v[2 * i + 1];
                v[2 * i] = a * cos(th) - b * sin(th);
                v[2 * i + 1] = a * sin(th) + b * cos(th);
            }
        }
    }
    free(x);
}

/* ---- The observer ---------------------------------------------------------------------- */

typedef struct {
    const lc_model *m;
    const double *q0, *k0;  /* layer 0 from the weights */
    int64_t calls, rows;
    int64_t last_layer_rows;
    double max_sum_err, max_out_err, max_l0_err;
    int64_t invisible_nonzero, unsupported;
    float *probs, *kbuf;
} obs_state;

static bool row_visible(const lc_attn_params *p, int64_t qpos, int64_t kpos) {
    if (kpos > qpos) return 0;
    if (p->method == LC_ATTN_WINDOW) return qpos - kpos < p->window || kpos < p->n_sinks;
    return 1;
}

static void observe(void *user, int32_t layer, const lc_attn_shape *s, const lc_attn_params *p, const lc_attn_io *io) {
    obs_state *o = user;
    o->calls++;
    const int32_t d = s->head_dim, H = s->n_head, Hk = s->n_head_kv;
    if (layer == o->m->cfg.n_layers - 1) o->last_layer_rows += s->n_q;
    for (int64_t r = 0; r < s->n_q; r++) {
        const int64_t qpos = s->q_pos0 + r;
        for (int32_t h = 0; h < H; h++) {
            if (lc_eval_attn_probs(s, p, io, r, h, o->probs, o->kbuf) < 0) {
                o->unsupported++;
                continue;
            }
            o->rows++;
            const int32_t kvh = h / (H / Hk);
            double sum = 0.0;
            double out[64] = {0};
            for (int64_t j = 0; j < s->n_kv; j++) {
                const int64_t kpos = s->k_pos ? s->k_pos[j] : j;
                if (!row_visible(p, qpos, kpos) && o->probs[j] != 0.0f) o->invisible_nonzero++;
                sum += o->probs[j];
                const float *v = (const float *)io->v + ((size_t)j * Hk + kvh) * d; /* f32 cache */
                for (int32_t i = 0; i < d; i++) out[i] += o->probs[j] * (double)v[i];
            }
            o->max_sum_err = fmax(o->max_sum_err, fabs(sum - 1.0));
            const float *got = io->out + ((size_t)r * H + h) * d;
            double mx = 1e-3, e = 0.0;
            for (int32_t i = 0; i < d; i++) mx = fmax(mx, fabs(out[i])), e = fmax(e, fabs(out[i] - got[i]));
            o->max_out_err = fmax(o->max_out_err, e / mx);
            if (layer == 0 && o->q0) { /* against the weights */
                const double *qr = o->q0 + ((size_t)qpos * H + h) * d;
                double sc[512], m = -INFINITY, z = 0.0;
                for (int64_t j = 0; j <= qpos; j++) {
                    const double *kr = o->k0 + ((size_t)j * Hk + kvh) * d;
                    double dot = 0.0;
                    for (int32_t i = 0; i < d; i++) dot += qr[i] * kr[i];
                    sc[j] = dot / sqrt((double)d);
                    m = fmax(m, sc[j]);
                }
                for (int64_t j = 0; j <= qpos; j++) z += exp(sc[j] - m);
                for (int64_t j = 0; j <= qpos; j++)
                    o->max_l0_err = fmax(o->max_l0_err, fabs(exp(sc[j] - m) / z - o->probs[j]));
            }
        }
    }
}

static void test_observer(void) {
    lc_model_config c = config(64, 96, 3, 4, 2, 16, 97);
    lc_model *m = make_model(&c, 5, 6.0f);
    if (!m) return;
    const int64_t n = 70;
    int32_t tok[70];
    random_tokens(tok, n, c.vocab_size, 9);
    double *q0 = malloc((size_t)n * 4 * 16 * sizeof(double)), *k0 = malloc((size_t)n * 2 * 16 * sizeof(double));
    layer0_qk(m, tok, n, q0, k0);
    const char *specs[3] = {"flash", "naive", "window:9:2"};
    for (int si = 0; si < 3; si++) {
        lc_context_opts o;
        lc_context_opts_init(&o);
        o.n_ctx = 80;
        o.n_batch = 32;
        o.n_threads = 1;
        o.attn = specs[si];
        o.k_type = o.v_type = LC_DTYPE_F32;
        lc_context *ctx = NULL;
        lc_error err;
        CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
        if (!ctx) continue;
        obs_state st;
        memset(&st, 0, sizeof st);
        st.m = m;
        st.q0 = si < 2 ? q0 : NULL; /* the window masks layer 0 too: compare full softmax only */
        st.k0 = k0;
        st.probs = malloc(80 * sizeof(float));
        st.kbuf = malloc(16 * sizeof(float));
        float *l1 = malloc((size_t)c.vocab_size * sizeof(float)), *l2 = malloc((size_t)c.vocab_size * sizeof(float));
        /* the same calls without an observer (the chunking decides the arithmetic) */
        CHECK_OK(lc_context_eval(ctx, tok, 50, NULL, false, &err), &err);
        CHECK_OK(lc_context_eval(ctx, tok + 50, n - 50, l1, false, &err), &err);
        lc_context_reset(ctx);
        lc_context_set_attn_observer(ctx, observe, &st);
        CHECK_OK(lc_context_eval(ctx, tok, 50, NULL, false, &err), &err);
        CHECK_OK(lc_context_eval(ctx, tok + 50, n - 50, l2, false, &err), &err);
        lc_context_set_attn_observer(ctx, NULL, NULL);
        CHECK(memcmp(l1, l2, (size_t)c.vocab_size * sizeof(float)) == 0, "%s: logits change with an observer",
              specs[si]);
        /* chunks [0,32) [32,50) [50,70): 3 calls per layer; in the last layer only
         * each chunk's last row (no logits asked for the others) */
        CHECK(st.calls == 3 * c.n_layers && st.last_layer_rows == 3 && st.unsupported == 0,
              "%s: %lld calls, %lld last-layer rows, %lld unsupported", specs[si], (long long)st.calls,
              (long long)st.last_layer_rows, (long long)st.unsupported);
        CHECK(st.max_sum_err < 1e-5 && st.invisible_nonzero == 0, "%s: sum error %g, %lld invisible keys with mass",
              specs[si], st.max_sum_err, (long long)st.invisible_nonzero);
        CHECK(st.max_out_err < 2e-5, "%s: sum p v differs from the attention output by %g", specs[si], st.max_out_err);
        if (si < 2) CHECK(st.max_l0_err < 2e-5, "%s: layer 0 differs from the weights by %g", specs[si], st.max_l0_err);
        free(st.probs);
        free(st.kbuf);
        free(l1);
        free(l2);
        lc_context_free(ctx);
    }
    /* LINEAR keeps no cache: the observer is never called */
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 80;
    o.n_threads = 1;
    o.attn = "linear";
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    if (ctx) {
        obs_state st;
        memset(&st, 0, sizeof st);
        lc_context_set_attn_observer(ctx, observe, &st);
        CHECK_OK(lc_context_eval(ctx, tok, 20, NULL, false, &err), &err);
        CHECK(st.calls == 0, "linear: %lld observer calls", (long long)st.calls);
        CHECK(lc_context_truncate(ctx, 10, &err) == LC_ERR_UNSUPPORTED, "linear truncate: %s", err.msg);
        CHECK_OK(lc_context_truncate(ctx, 0, &err), &err);
        CHECK(lc_context_n_past(ctx) == 0, "linear truncate to 0 resets");
        lc_context_free(ctx);
    }
    free(q0);
    free(k0);
    lc_model_free(m);
}

/* ---- Truncation and the context-backed eval model ---------------------------------------- */

static double log_softmax_at(const float *l, int32_t V, int32_t t) {
    double m = -INFINITY, z = 0.0;
    for (int32_t i = 0; i < V; i++) m = fmax(m, l[i]);
    for (int32_t i = 0; i < V; i++) z += exp((double)l[i] - m);
    return (double)l[t] - m - log(z);
}

static void test_truncate_and_logprobs(void) {
    lc_model_config c = config(48, 64, 2, 4, 4, 12, 61);
    lc_model *m = make_model(&c, 8, 3.0f);
    if (!m) return;
    int32_t tok[60];
    random_tokens(tok, 60, c.vocab_size, 4);
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 64;
    o.n_batch = 16;
    o.n_threads = 1;
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    if (!ctx) {
        lc_model_free(m);
        return;
    }
    const int32_t V = c.vocab_size;
    float *all = malloc((size_t)60 * V * sizeof(float)), *part = malloc((size_t)60 * V * sizeof(float));
    CHECK_OK(lc_context_eval(ctx, tok, 60, all, true, &err), &err);
    /* keep 23 tokens, feed the rest again */
    CHECK_OK(lc_context_truncate(ctx, 23, &err), &err);
    CHECK(lc_context_n_past(ctx) == 23 && lc_context_logits(ctx) == NULL, "after truncate: %lld held, logits %p",
          (long long)lc_context_n_past(ctx), (const void *)lc_context_logits(ctx));
    CHECK_OK(lc_context_eval(ctx, tok + 23, 37, part, true, &err), &err);
    CHECK(lc_test_rel_err(part, all + (size_t)23 * V, (size_t)37 * V, 1e-3) < 1e-5, "truncated continuation: %g",
          lc_test_rel_err(part, all + (size_t)23 * V, (size_t)37 * V, 1e-3));
    CHECK(lc_context_truncate(ctx, 61, &err) == LC_ERR_INVALID_ARG && lc_context_truncate(ctx, -1, &err) == LC_ERR_INVALID_ARG,
          "truncate past n_past / negative refused");
    CHECK_OK(lc_context_truncate(ctx, 60, &err), &err);
    CHECK(lc_context_logits(ctx) != NULL, "truncate to n_past keeps the logits");

    /* the eval model: log-probs equal log-softmax of the logits, continuing too */
    lc_eval_model *em = NULL;
    CHECK_OK(lc_eval_model_from_context(ctx, NULL, -1, true, &em, &err), &err);
    if (em) {
        float lp_a[60], lp_b[60];
        em->ops->reset(em);
        CHECK_OK(em->ops->append_logprobs(em, tok, 25, lp_a, &err), &err);
        CHECK_OK(em->ops->append_logprobs(em, tok + 25, 35, lp_b, &err), &err);
        double e = 0.0;
        CHECK(isnan(lp_a[0]), "the first token of a sequence has no log-prob");
        for (int i = 1; i < 60; i++) {
            const double want = log_softmax_at(all + (size_t)(i - 1) * V, V, tok[i]);
            const double got = i < 25 ? lp_a[i] : lp_b[i - 25];
            e = fmax(e, fabs(got - want));
        }
        CHECK(e < 1e-4, "append_logprobs vs log-softmax of the logits: %g", e);
        CHECK(em->ops->append_logprobs(em, tok, 5, lp_a, &err) == LC_ERR_TOO_LARGE, "past n_ctx: %s", err.msg);
        lc_eval_model_free(em);
    }
    free(all);
    free(part);
    lc_context_free(ctx);
    lc_model_free(m);
}

/* ---- Prefix reuse and retention with the synthetic tokenizer -------------------------------- */

typedef struct {
    char texts[64][128];
    int n;
} answers;

static bool keep_answer(void *user, int64_t length, double depth, int32_t trial, const lc_task_sample *s,
                        const char *generated, double score, double recall) {
    answers *a = user;
    (void)length, (void)depth, (void)trial, (void)s, (void)score, (void)recall;
    if (a->n < 64) snprintf(a->texts[a->n++], 128, "%s", generated);
    return true;
}

static void test_prefix_reuse(const lc_tokenizer *tok) {
    lc_model_config c = config(32, 48, 2, 2, 2, 16, LC_TASKS_VOCAB_SIZE);
    lc_model *m = make_model(&c, 3, 4.0f);
    if (!m) return;
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 420;
    o.n_batch = 64;
    o.n_threads = 1;
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    lc_eval_grid_config gc;
    lc_eval_grid_config_init(&gc, LC_TASK_PASSKEY);
    gc.lengths[0] = 200;
    gc.lengths[1] = 400;
    gc.n_lengths = 2;
    lc_eval_grid_even_depths(&gc, 4, NULL);
    gc.trials = 2;
    gc.on_trial = keep_answer;
    answers a[2];
    memset(a, 0, sizeof a);
    lc_eval_grid g[2];
    int64_t evaluated[2] = {0}, reused[2] = {0};
    for (int r = 0; r < 2 && ctx; r++) {
        lc_eval_model *em = NULL;
        CHECK_OK(lc_eval_model_from_context(ctx, tok, -1, r == 0, &em, &err), &err);
        gc.trial_user = &a[r];
        CHECK_OK(lc_eval_grid_run(em, &gc, &g[r], &err), &err);
        lc_eval_model_prefix_stats(em, &evaluated[r], &reused[r]);
        lc_eval_model_free(em);
    }
    if (ctx) {
        int same = 0;
        for (int i = 0; i < a[0].n; i++) same += strcmp(a[0].texts[i], a[1].texts[i]) == 0;
        CHECK(a[0].n == 16 && a[1].n == 16 && same == 16, "answers with and without prefix reuse: %d of %d equal",
              same, a[0].n);
        /* deepest needle first: a sample at depth d keeps about d of the previous
         * prompt, so 4 depths (1, 2/3, 1/3, 0) save about a quarter */
        CHECK(reused[0] > (evaluated[0] + reused[0]) / 5 && reused[1] == 0 && evaluated[0] + reused[0] == evaluated[1],
              "reuse: %lld evaluated + %lld reused vs %lld fresh", (long long)evaluated[0], (long long)reused[0],
              (long long)evaluated[1]);
        CHECK(g[0].tokens_reused == reused[0] && g[0].n_trials == 16, "grid reports %lld reused",
              (long long)g[0].tokens_reused);
        lc_eval_grid_free(&g[0]);
        lc_eval_grid_free(&g[1]);
    }
    lc_context_free(ctx);
    lc_model_free(m);
}

static void test_retention(const lc_tokenizer *tok) {
    lc_model_config c = config(32, 48, 2, 4, 2, 8, LC_TASKS_VOCAB_SIZE);
    lc_model *m = make_model(&c, 12, 4.0f);
    if (!m) return;
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 260;
    o.n_batch = 48;
    o.n_threads = 1;
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    lc_eval_retention_config rc;
    lc_eval_retention_config_init(&rc);
    rc.grid.lengths[0] = 160;
    rc.grid.lengths[1] = 250;
    rc.grid.n_lengths = 2;
    lc_eval_grid_even_depths(&rc.grid, 3, NULL);
    rc.grid.trials = 1;
    const int64_t probes[5] = {-1, 50, 100, -1, 100000};
    memcpy(rc.probes, probes, sizeof probes);
    rc.n_probes = 5;
    lc_eval_retention r;
    CHECK_OK(lc_eval_retention_run(ctx, tok, -1, &rc, &r, &err), &err);
    if (ctx && r.mass) {
        CHECK(r.n_rows == 18 && r.grid.n_trials == 6, "%lld probe rows (want 3 x 6), %lld trials", (long long)r.n_rows,
              (long long)r.grid.n_trials);
        double worst = 0.0;
        int bad_needle = 0;
        for (int32_t l = 0; l < r.n_layers; l++)
            for (int32_t h = 0; h < r.n_heads; h++) {
                double s = 0.0;
                for (int b = 0; b < LC_EVAL_MAX_BUCKETS; b++)
                    s += r.mass[((size_t)l * r.n_heads + h) * LC_EVAL_MAX_BUCKETS + b];
                worst = fmax(worst, fabs(s - 1.0));
                const double nm = r.needle_mass[(size_t)l * r.n_heads + h];
                bad_needle += !(nm > 0.0 && nm < 1.0);
            }
        CHECK(worst < 1e-6 && bad_needle == 0, "masses sum to 1 (worst %g); %d needle masses outside (0, 1)", worst,
              bad_needle);
        /* keys per bucket: counted here from the prompts */
        double keys[LC_EVAL_MAX_BUCKETS] = {0};
        for (int l = 0; l < 2; l++)
            for (int d = 0; d < 3; d++) {
                lc_task_sample s;
                CHECK_OK(lc_eval_grid_sample(&rc.grid, tok, rc.grid.lengths[l], rc.grid.depths[d], 0, &s, &err), &err);
                const int64_t pos[3] = {50, 100, s.n_prompt - 1};
                for (int p = 0; p < 3; p++)
                    for (int64_t dist = 0; dist <= pos[p]; dist++) keys[lc_eval_bucket(dist)] += 1.0 / 18;
                lc_task_sample_free(&s);
            }
        double ke = 0.0;
        int nb = 0;
        for (int b = 0; b < LC_EVAL_MAX_BUCKETS; b++) {
            ke = fmax(ke, fabs(keys[b] - r.bucket_keys[b]));
            if (keys[b] > 0) nb = b + 1;
        }
        CHECK(ke < 1e-9 && r.n_buckets == nb, "keys per bucket differ by %g; %d buckets, want %d", ke, r.n_buckets, nb);
        /* JSON */
        char *js = NULL;
        size_t len = 0;
        FILE *mf = open_memstream(&js, &len);
        lc_json_writer w;
        lc_json_init(&w, mf, false);
        lc_json_begin_object(&w);
        lc_eval_retention_write_json(&w, &r);
        lc_json_end_object(&w);
        lc_json_finish(&w);
        fclose(mf);
        CHECK(strstr(js, "\"buckets\":[{\"lo\":0,\"hi\":0,\"keys\":1}") && strstr(js, "\"rows\":18") &&
                  strstr(js, "\"layers\":[{\"layer\":0,\"mass\":[") && strstr(js, "\"needle_mass_heads\":["),
              "JSON: %.300s", js);
        free(js);
        lc_eval_retention_free(&r);
    }
    lc_context_free(ctx);
    /* refusals: no cache to observe, or not plain softmax */
    const char *bad[2] = {"linear", "chunked:64:8"};
    for (int i = 0; i < 2; i++) {
        o.attn = bad[i];
        ctx = NULL;
        CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
        if (!ctx) continue;
        CHECK(lc_eval_retention_run(ctx, tok, -1, &rc, &r, &err) == LC_ERR_UNSUPPORTED && r.mass == NULL,
              "%s: %s", bad[i], err.msg);
        lc_context_free(ctx);
    }
    /* a cache policy that moves keys away from their positions */
    o.attn = NULL;
    CHECK_OK(lc_kv_policy_parse("sinks:4:64", &o, &err), &err);
    ctx = NULL;
    CHECK_OK(lc_context_create(m, &o, &ctx, &err), &err);
    if (ctx) {
        CHECK(lc_eval_retention_run(ctx, tok, -1, &rc, &r, &err) == LC_ERR_UNSUPPORTED && strstr(err.msg, "sinks"),
              "sinks policy: %s", err.msg);
        lc_context_free(ctx);
    }
    lc_model_free(m);
}

int main(void) {
    test_observer();
    test_truncate_and_logprobs();
    lc_tokenizer *tok = NULL;
    lc_error err;
    CHECK_OK(lc_tasks_tokenizer_create(&tok, &err), &err);
    if (tok) {
        test_prefix_reuse(tok);
        test_retention(tok);
    }
    lc_tokenizer_free(tok);
    return lc_test_finish("test_eval_runtime");
}
