/*
 * The runtime's forward pass against the independent scalar reference
 * (tests/ref/llama_ref.c: double accumulation, its own dequantisation and
 * RoPE, materialised attention) on random small models: GQA and MQA, several
 * layers, odd vocabulary and hidden sizes, f32 / f16 / bf16 / q8_0 weights,
 * NORM and NEOX RoPE, partial rotary, prefill in chunks and token-by-token
 * decode, 1 and 2 threads, scalar and AVX2 kernels, naive and flash attention.
 *
 * Tolerances (max |runtime - ref| over max |ref|, per logits row set):
 *   - f32 KV cache: 1e-5, for every weight type. The reference reads the same
 *     weights dequantised exactly (f16, bf16 and q8_0 values are exact in
 *     f32), so the only differences are f32 rounding in the runtime's sums.
 *     Products with q8_0 weights round their input to 8-bit blocks (the
 *     integer kernels, as llama.cpp); the reference rounds it the same way
 *     (measured 1e-7), and the tolerance, 1e-3, leaves room for an activation
 *     that the runtime's f32 rounding puts on the other side of a .5 step
 *     (one step is 1/254 of its block's largest value).
 *   - f16 KV cache: 5e-3. Keys and values are rounded to 11-bit mantissas
 *     (relative 2^-11 = 4.9e-4 each); through softmax and several layers the
 *     logits move by a few times that (measured: up to 2.1e-3).
 *   - q8_0 KV cache: 3e-2. Each value is off by up to amax/254 of its block of
 *     32 (0.4% of the block's largest); measured up to 1.6e-2.
 * Then: the context-end refusal, rollback on bad input, reset, chunk-size
 * invariance, and refusal of inconsistent models and oversize contexts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/kernels.h"
#include "longctx/runtime.h"
#include "ref/llama_ref.c"
#include "test_model_util.h"
#include "test_util.h"


/* ---- Random models built by hand --------------------------------------------- */

typedef struct {
    lc_model m;
    lc_layer_weights *layers;
    void *blobs[128];
    int n_blobs;
} test_model;

static void *blob(test_model *tm, size_t bytes) {
    void *p = calloc(1, bytes ? bytes : 1);
    tm->blobs[tm->n_blobs++] = p;
    return p;
}

static lc_tensor make_tensor(test_model *tm, lc_dtype type, int64_t rows, int64_t cols, float scale, float offset,
                             lc_rng *rng) {
    size_t rb = 0;
    lc_dtype_row_bytes(type, cols, &rb, NULL);
    char *data = blob(tm, rb * (size_t)rows);
    float *tmp = malloc((size_t)cols * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t c = 0; c < cols; c++) tmp[c] = offset + scale * lc_rng_normal(rng);
        char *row = data + (size_t)r * rb;
        if (type == LC_DTYPE_F32) memcpy(row, tmp, (size_t)cols * 4);
        else if (type == LC_DTYPE_F16) lc_f32_to_f16_row(tmp, (uint16_t *)row, cols);
        else if (type == LC_DTYPE_BF16)
            for (int64_t c = 0; c < cols; c++) ((uint16_t *)row)[c] = lc_f32_to_bf16(tmp[c]);
        else lc_quantize_row_q8_0(tmp, (lc_block_q8_0 *)row, cols);
    }
    free(tmp);
    lc_tensor t = {type, rows, cols, data};
    return t;
}

static void model_make(test_model *tm, const lc_model_config *c, lc_dtype wt, uint64_t seed) {
    memset(tm, 0, sizeof *tm);
    lc_rng rng;
    lc_rng_seed(&rng, seed);
    tm->m.cfg = *c;
    const int64_t D = c->dim, F = c->hidden_dim, qd = (int64_t)c->n_heads * c->head_dim;
    const int64_t kd = (int64_t)c->n_kv_heads * c->head_dim;
    const float sD = 1.0f / sqrtf((float)D), sF = 1.0f / sqrtf((float)F), sQ = 1.0f / sqrtf((float)qd);
    tm->layers = blob(tm, sizeof(lc_layer_weights) * (size_t)c->n_layers);
    lc_model_weights *w = &tm->m.w;
    w->tok_embd = make_tensor(tm, wt, c->vocab_size, D, 1.0f, 0.0f, &rng);
    for (int l = 0; l < c->n_layers; l++) {
        lc_layer_weights *L = &tm->layers[l];
        L->attn_norm = make_tensor(tm, LC_DTYPE_F32, 1, D, 0.1f, 1.0f, &rng);
        L->wq = make_tensor(tm, wt, qd, D, 2.0f * sD, 0.0f, &rng);
        L->wk = make_tensor(tm, wt, kd, D, 2.0f * sD, 0.0f, &rng);
        L->wv = make_tensor(tm, wt, kd, D, sD, 0.0f, &rng);
        L->wo = make_tensor(tm, wt, D, qd, sQ, 0.0f, &rng);
        L->ffn_norm = make_tensor(tm, LC_DTYPE_F32, 1, D, 0.1f, 1.0f, &rng);
        L->w_gate = make_tensor(tm, wt, F, D, sD, 0.0f, &rng);
        L->w_up = make_tensor(tm, wt, F, D, sD, 0.0f, &rng);
        L->w_down = make_tensor(tm, wt, D, F, sF, 0.0f, &rng);
    }
    w->layers = tm->layers;
    w->output_norm = make_tensor(tm, LC_DTYPE_F32, 1, D, 0.1f, 1.0f, &rng);
    w->output = make_tensor(tm, wt, c->vocab_size, D, 3.0f * sD, 0.0f, &rng);
    snprintf(tm->m.format, sizeof tm->m.format, "test");
}

static void model_free(test_model *tm) {
    for (int i = 0; i < tm->n_blobs; i++) free(tm->blobs[i]);
}


static void random_tokens(int32_t *t, int64_t n, int32_t vocab, uint64_t seed) {
    lc_rng rng;
    lc_rng_seed(&rng, seed);
    for (int64_t i = 0; i < n; i++) t[i] = (int32_t)lc_rng_below(&rng, (uint64_t)vocab);
}

/* max |a - b| / max |b| over n values. */
static double rel_err_d(const float *a, const double *b, size_t n) {
    double mx = 1e-6, de = 0.0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(b[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= de)) de = e;
    }
    return de / mx;
}

/* ---- Runtime vs reference -------------------------------------------------------- */

typedef struct {
    const char *attn;
    int threads;
    bool scalar;
    int64_t n_batch;
    lc_dtype kv;
} run_cfg;

/* Logits of every position, by prefill (all = true) in chunks of n_batch, and
 * again by decoding one token at a time; both against the reference. */
static void check_model_ex(const char *label, const test_model *tm, const run_cfg *rc, const ref_attn *ra, int64_t n,
                           double tol) {
    const int32_t V = tm->m.cfg.vocab_size;
    int32_t *tok = malloc((size_t)n * sizeof(int32_t));
    random_tokens(tok, n, V, 77);
    double *ref = malloc((size_t)(n * V) * sizeof(double));
    CHECK(ref_llama_forward_ex(&tm->m.cfg, &tm->m.w, tok, n, ra, ref) == 0, "%s: reference failed", label);
    float *lg = malloc((size_t)(n * V) * sizeof(float));
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = n + 3;
    o.n_batch = rc->n_batch;
    o.n_threads = rc->threads;
    o.attn = rc->attn;
    o.k_type = o.v_type = rc->kv;
    o.force_scalar = rc->scalar;
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(&tm->m, &o, &ctx, &err), &err);
    if (!ctx) goto done;
    /* prefill, all logits */
    CHECK_OK(lc_context_eval(ctx, tok, n, lg, true, &err), &err);
    double e = rel_err_d(lg, ref, (size_t)(n * V));
    CHECK(e < tol, "%s [%s, %d thr%s, batch %lld, kv %s] prefill: rel err %.3g (tol %.1g)", label, rc->attn ? rc->attn : "-",
          rc->threads, rc->scalar ? ", scalar" : "", (long long)rc->n_batch, lc_dtype_name(rc->kv), e, tol);
    CHECK(lc_context_n_past(ctx) == n, "n_past %lld", (long long)lc_context_n_past(ctx));
    /* prefill for the last token's logits only (the last layer runs one row past its K/V) */
    lc_context_reset(ctx);
    CHECK_OK(lc_context_eval(ctx, tok, n, lg, false, &err), &err);
    e = rel_err_d(lg, ref + (n - 1) * V, (size_t)V);
    CHECK(e < tol, "%s [%s, %d thr, batch %lld] prefill, last logits: rel err %.3g", label, rc->attn ? rc->attn : "-",
          rc->threads, (long long)rc->n_batch, e);
    /* decode one at a time from a fresh sequence */
    lc_context_reset(ctx);
    CHECK(lc_context_n_past(ctx) == 0 && lc_context_logits(ctx) == NULL, "reset");
    double ed = 0.0;
    for (int64_t i = 0; i < n; i++) {
        CHECK_OK(lc_context_eval(ctx, tok + i, 1, lg + i * V, false, &err), &err);
        ed = fmax(ed, rel_err_d(lg + i * V, ref + i * V, (size_t)V));
    }
    CHECK(ed < tol, "%s [%s, %d thr%s, kv %s] decode: rel err %.3g (tol %.1g)", label, rc->attn ? rc->attn : "-", rc->threads,
          rc->scalar ? ", scalar" : "", lc_dtype_name(rc->kv), ed, tol);
    /* the last logits are also available from the context */
    const float *last = lc_context_logits(ctx);
    CHECK(last && memcmp(last, lg + (n - 1) * V, (size_t)V * 4) == 0, "lc_context_logits is not the last row");
done:
    lc_context_free(ctx);
    free(lg);
    free(ref);
    free(tok);
}

static void check_model(const char *label, const test_model *tm, const run_cfg *rc, int64_t n, double tol) {
    check_model_ex(label, tm, rc, NULL, n, tol);
}

static void test_against_reference(void) {
    const int64_t n = lc_test_quick() ? 11 : 23;
    /* GQA 4:2, odd vocab, head dim 16; hidden not a multiple of 16 for the GEMM edges */
    lc_model_config gqa = test_llama_config(64, 96, 3, 4, 2, 16, 101);
    /* MQA 8:1, head dim 32, 2 layers */
    lc_model_config mqa = test_llama_config(128, 160, 2, 8, 1, 16, 67);
    mqa.head_dim = 32;
    mqa.n_heads = 4;
    lc_rope_config_init(&mqa.rope, 32);
    /* NEOX layout with partial rotary (16 of 32 dims), base 500000 */
    lc_model_config neox = test_llama_config(64, 64, 2, 2, 1, 32, 50);
    lc_rope_config_init(&neox.rope, 16);
    neox.rope.layout = LC_ROPE_NEOX;
    neox.rope.freq_base = 500000.0f;
    /* linear position interpolation s = 4 */
    lc_model_config pi = test_llama_config(64, 96, 2, 4, 4, 16, 40);
    pi.rope.scaling = LC_ROPE_SCALING_LINEAR;
    pi.rope.factor = 4.0f;
    /* heads wider than the model: q_dim = 4 x 32 = 128 != dim = 64 (GGUF head_dim key) */
    lc_model_config wide = test_llama_config(64, 96, 2, 4, 2, 32, 45);
    const struct {
        const char *name;
        lc_model_config *c;
    } models[] = {{"gqa", &gqa}, {"mqa", &mqa}, {"neox-partial", &neox}, {"linear-pi", &pi}, {"wide-heads", &wide}};

    const run_cfg runs[] = {
        {"naive", 1, false, 512, LC_DTYPE_F32}, {"flash", 2, false, 5, LC_DTYPE_F32},
        {"naive", 2, true, 7, LC_DTYPE_F32},    {"flash", 1, false, 1, LC_DTYPE_F32},
    };
    for (size_t mi = 0; mi < LC_ARRAY_LEN(models); mi++) {
        test_model tm;
        model_make(&tm, models[mi].c, LC_DTYPE_F32, 1000 + mi);
        for (size_t r = 0; r < LC_ARRAY_LEN(runs); r++) check_model(models[mi].name, &tm, &runs[r], n, 1e-5);
        model_free(&tm);
    }
    /* Weight types: the reference reads the same quantised values. */
    const lc_dtype wts[] = {LC_DTYPE_F16, LC_DTYPE_BF16, LC_DTYPE_Q8_0};
    for (size_t t = 0; t < LC_ARRAY_LEN(wts); t++) {
        test_model tm;
        model_make(&tm, &gqa, wts[t], 2000 + t);
        char label[32];
        snprintf(label, sizeof label, "gqa %s", lc_dtype_name(wts[t]));
        run_cfg a = {"flash", 2, false, 6, LC_DTYPE_F32}, b = {"naive", 1, true, 512, LC_DTYPE_F32};
        const double tol = wts[t] == LC_DTYPE_Q8_0 ? 1e-3 : 1e-5;
        check_model(label, &tm, &a, n, tol);
        check_model(label, &tm, &b, n, tol);
        model_free(&tm);
    }
    /* f16 KV cache */
    test_model tm;
    model_make(&tm, &gqa, LC_DTYPE_F16, 3000);
    run_cfg f16kv = {"flash", 2, false, 8, LC_DTYPE_F16}, f16kv_naive = {"naive", 1, false, 3, LC_DTYPE_F16};
    check_model("gqa f16-kv", &tm, &f16kv, n, 5e-3);
    check_model("gqa f16-kv", &tm, &f16kv_naive, n, 5e-3);
    model_free(&tm);
    /* q8_0 KV cache (head dim 32): keys and values rounded to 8 bits per block
     * of 32 (error up to amax/254 per element, ~0.4% of the block's largest) */
    lc_model_config c32 = test_llama_config(64, 96, 2, 2, 1, 32, 53);
    model_make(&tm, &c32, LC_DTYPE_F32, 3100);
    run_cfg q8kv = {"flash", 2, false, 5, LC_DTYPE_Q8_0}, q8kv_naive = {"naive", 1, true, 512, LC_DTYPE_Q8_0};
    check_model("q8_0-kv", &tm, &q8kv, n, 3e-2);
    check_model("q8_0-kv", &tm, &q8kv_naive, n, 3e-2);
    model_free(&tm);
}

/* Other attention methods through the runtime: a window with sinks (the
 * cache keeps every key; attention masks), and LINEAR attention (one
 * recurrent state per layer instead of a cache), also chosen by the model's
 * own cfg.attention. */
static void test_attention_variants(void) {
    const int64_t n = lc_test_quick() ? 12 : 21;
    lc_model_config c = test_llama_config(64, 96, 2, 4, 2, 16, 61);
    test_model tm;
    model_make(&tm, &c, LC_DTYPE_F32, 4000);
    const ref_attn win = {REF_ATTN_SOFTMAX, 5, 2}, lin = {REF_ATTN_LINEAR_ELU, 0, 0};
    const run_cfg w1 = {"window:5:2", 2, false, 4, LC_DTYPE_F32}, w2 = {"window:5:2", 1, true, 512, LC_DTYPE_F32};
    check_model_ex("window", &tm, &w1, &win, n, 1e-5);
    check_model_ex("window", &tm, &w2, &win, n, 1e-5);
    const run_cfg l1 = {"linear:elu", 2, false, 6, LC_DTYPE_F32}, l2 = {"linear", 1, true, 512, LC_DTYPE_F16};
    check_model_ex("linear", &tm, &l1, &lin, n, 1e-5);
    check_model_ex("linear", &tm, &l2, &lin, n, 1e-5); /* no KV cache: the cache type does not matter */
    /* the model's own attention is the default */
    snprintf(tm.m.cfg.attention, sizeof tm.m.cfg.attention, "linear:elu");
    const run_cfg ld = {NULL, 2, false, 7, LC_DTYPE_F32};
    check_model_ex("linear (model default)", &tm, &ld, &lin, n, 1e-5);
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 32;
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(&tm.m, &o, &ctx, &err), &err);
    if (ctx) CHECK(lc_context_attn(ctx)->method == LC_ATTN_LINEAR, "model attention not used");
    lc_context_memory mem;
    CHECK_OK(lc_context_memory_need(&tm.m, &o, &mem, &err), &err);
    CHECK(mem.kv_bytes < 2u * 2 * 32 * 32 * 4, "linear state %zu bytes is not smaller than a KV cache", mem.kv_bytes);
    lc_context_free(ctx);
    model_free(&tm);
}

/* The same logits whatever the chunking, thread count or attention method
 * (tight: only f32 summation order differs). */
static void test_invariance(void) {
    lc_model_config c = test_llama_config(64, 96, 2, 4, 2, 16, 101);
    test_model tm;
    model_make(&tm, &c, LC_DTYPE_F16, 11);
    const int64_t n = 40;
    int32_t tok[40];
    random_tokens(tok, n, c.vocab_size, 12);
    float *base = malloc((size_t)c.vocab_size * 4), *lg = malloc((size_t)c.vocab_size * 4);
    const run_cfg runs[] = {{"naive", 1, false, 512, LC_DTYPE_F16}, {"flash", 2, false, 13, LC_DTYPE_F16},
                            {"flash", 1, false, 1, LC_DTYPE_F16},    {"naive", 2, true, 6, LC_DTYPE_F16}};
    lc_error err;
    for (size_t r = 0; r < LC_ARRAY_LEN(runs); r++) {
        lc_context_opts o;
        lc_context_opts_init(&o);
        o.n_ctx = 64;
        o.n_batch = runs[r].n_batch;
        o.n_threads = runs[r].threads;
        o.attn = runs[r].attn;
        o.force_scalar = runs[r].scalar;
        lc_context *ctx = NULL;
        CHECK_OK(lc_context_create(&tm.m, &o, &ctx, &err), &err);
        if (!ctx) continue;
        CHECK_OK(lc_context_eval(ctx, tok, n, r == 0 ? base : lg, false, &err), &err);
        if (r > 0) {
            double e = lc_test_rel_err(lg, base, (size_t)c.vocab_size, 1e-6);
            CHECK(e < 1e-4, "run %zu differs from run 0 by %.3g", r, e);
        }
        /* Re-running after reset gives the same bits. */
        lc_context_reset(ctx);
        CHECK_OK(lc_context_eval(ctx, tok, n, lg, false, &err), &err);
        if (r == 0) CHECK(memcmp(lg, base, (size_t)c.vocab_size * 4) == 0, "reset + eval is not reproducible");
        lc_context_free(ctx);
    }
    free(base);
    free(lg);
    model_free(&tm);
}

/* Context end: evaluation past n_ctx is refused before anything changes; the
 * sequence so far stays usable; generation stops with the message. */
static void test_context_end(void) {
    lc_model_config c = test_llama_config(32, 64, 2, 2, 1, 16, 37);
    test_model tm;
    model_make(&tm, &c, LC_DTYPE_F32, 21);
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 8;
    o.n_batch = 3;
    o.attn = "naive";
    lc_context *ctx = NULL;
    lc_error err;
    CHECK_OK(lc_context_create(&tm.m, &o, &ctx, &err), &err);
    if (!ctx) {
        model_free(&tm);
        return;
    }
    int32_t tok[10];
    random_tokens(tok, 10, c.vocab_size, 22);
    float lg[37], lg2[37];
    CHECK(lc_context_eval(ctx, tok, 9, lg, false, &err) == LC_ERR_TOO_LARGE, "9 tokens fit in 8");
    CHECK(strstr(err.msg, "context full: 8 tokens; raise -c") != NULL, "message: %s", err.msg);
    CHECK(lc_context_n_past(ctx) == 0, "refused eval changed n_past");
    CHECK_OK(lc_context_eval(ctx, tok, 6, lg, false, &err), &err);
    CHECK(lc_context_eval(ctx, tok + 6, 3, lg, false, &err) == LC_ERR_TOO_LARGE, "6 + 3 fit in 8");
    CHECK(lc_context_n_past(ctx) == 6, "n_past %lld after refusal", (long long)lc_context_n_past(ctx));
    /* bad token: refused, nothing changes */
    int32_t bad[2] = {tok[6], 37};
    CHECK(lc_context_eval(ctx, bad, 2, lg, false, &err) == LC_ERR_INVALID_ARG, "token 37 of 37 accepted");
    CHECK(lc_context_n_past(ctx) == 6, "bad token changed n_past");
    CHECK_OK(lc_context_eval(ctx, tok + 6, 2, lg, false, &err), &err);
    CHECK(lc_context_n_past(ctx) == 8, "full");
    CHECK(lc_context_eval(ctx, tok, 1, lg, false, &err) == LC_ERR_TOO_LARGE, "9th token accepted");
    /* the same 8 tokens from scratch give the same logits */
    lc_context_reset(ctx);
    CHECK_OK(lc_context_eval(ctx, tok, 8, lg2, false, &err), &err);
    CHECK(lc_test_rel_err(lg, lg2, 37, 1e-6) < 1e-5, "logits after refusals differ");

    /* generation: 5 prompt tokens, n_ctx 8: generates 4 (3 evaluated + 1 emitted) then stops */
    lc_context_reset(ctx);
    lc_generate_opts g;
    lc_generate_opts_init(&g);
    g.n_predict = 100;
    int32_t out[16];
    lc_generate_result res;
    CHECK_OK(lc_generate(ctx, tok, 5, &g, out, 16, &res, &err), &err);
    CHECK(res.stop == LC_STOP_CONTEXT_FULL, "stop %s", lc_stop_reason_name(res.stop));
    CHECK(res.n_generated == 4, "generated %lld", (long long)res.n_generated);
    CHECK(strcmp(res.message, "context full: 8 tokens; raise -c") == 0, "message '%s'", res.message);
    CHECK(lc_context_n_past(ctx) == 8, "n_past %lld", (long long)lc_context_n_past(ctx));
    /* greedy generation equals argmax of the reference at each step */
    int32_t seq[8];
    memcpy(seq, tok, 5 * sizeof(int32_t));
    memcpy(seq + 5, out, 3 * sizeof(int32_t));
    double ref[8 * 37];
    ref_llama_forward(&tm.m.cfg, &tm.m.w, seq, 8, ref);
    for (int i = 0; i < 4; i++) {
        int best = 0;
        for (int v = 1; v < 37; v++)
            if (ref[(4 + i) * 37 + v] > ref[(4 + i) * 37 + best]) best = v;
        CHECK(out[i] == best, "generated token %d: %d, reference argmax %d", i, out[i], best);
    }
    /* prompt longer than the context */
    lc_context_reset(ctx);
    CHECK(lc_generate(ctx, tok, 9, &g, out, 16, &res, &err) == LC_ERR_TOO_LARGE, "9-token prompt accepted");
    /* n_predict and EOS */
    lc_context_reset(ctx);
    g.n_predict = 2;
    CHECK_OK(lc_generate(ctx, tok, 3, &g, out, 16, &res, &err), &err);
    CHECK(res.stop == LC_STOP_LENGTH && res.n_generated == 2 && lc_context_n_past(ctx) == 4, "n_predict 2: %s %lld %lld",
          lc_stop_reason_name(res.stop), (long long)res.n_generated, (long long)lc_context_n_past(ctx));
    lc_context_reset(ctx);
    g.n_predict = 5;
    g.eos_id = out[1];
    int64_t first = out[0] == out[1] ? 0 : 1; /* EOS stops before it is emitted */
    CHECK_OK(lc_generate(ctx, tok, 3, &g, out, 16, &res, &err), &err);
    CHECK(res.stop == LC_STOP_EOS && res.n_generated == first, "eos: %s %lld", lc_stop_reason_name(res.stop),
          (long long)res.n_generated);
    lc_context_free(ctx);
    model_free(&tm);
}

static void test_refusals(void) {
    lc_model_config c = test_llama_config(64, 96, 2, 4, 2, 16, 50);
    test_model tm;
    model_make(&tm, &c, LC_DTYPE_F32, 31);
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 16;
    lc_context *ctx = NULL;
    lc_error err;
    /* inconsistent shapes */
    tm.layers[1].wk.rows = 48;
    CHECK(lc_context_create(&tm.m, &o, &ctx, &err) == LC_ERR_FORMAT, "bad wk accepted");
    CHECK(strstr(err.msg, "layer 1 attn_k") != NULL, "message: %s", err.msg);
    tm.layers[1].wk.rows = 32;
    tm.m.cfg.n_kv_heads = 3;
    CHECK(lc_context_create(&tm.m, &o, &ctx, &err) == LC_ERR_FORMAT, "4 heads over 3 KV heads accepted");
    tm.m.cfg.n_kv_heads = 2;
    tm.m.w.output.data = NULL;
    CHECK(lc_context_create(&tm.m, &o, &ctx, &err) != LC_OK, "missing output accepted");
    tm.m.w.output.data = tm.m.w.tok_embd.data;
    /* bad options */
    o.attn = "bogus";
    CHECK(lc_context_create(&tm.m, &o, &ctx, &err) == LC_ERR_INVALID_ARG, "bogus attention accepted");
    o.attn = NULL;
    o.k_type = LC_DTYPE_BF16;
    CHECK(lc_context_create(&tm.m, &o, &ctx, &err) == LC_ERR_UNSUPPORTED, "bf16 KV accepted");
    o.k_type = LC_DTYPE_F16;
    o.v_type = LC_DTYPE_Q8_0; /* head dim 16 */
    CHECK(lc_context_create(&tm.m, &o, &ctx, &err) == LC_ERR_UNSUPPORTED, "q8_0 KV with head dim 16 accepted");
    CHECK(strstr(err.msg, "q8_0") != NULL, "message: %s", err.msg);
    o.v_type = LC_DTYPE_F16;
    /* a context that cannot fit in memory is refused before allocating, with the size */
    o.n_ctx = (int64_t)1 << 40;
    CHECK(lc_context_create(&tm.m, &o, &ctx, &err) == LC_ERR_TOO_LARGE, "2^40 tokens accepted");
    CHECK(strstr(err.msg, "needs") != NULL && strstr(err.msg, "KV") != NULL, "message: %s", err.msg);
    lc_context_memory mem;
    o.n_ctx = 1024;
    CHECK_OK(lc_context_memory_need(&tm.m, &o, &mem, &err), &err);
    /* 2 layers x 1024 slots x 32 kv dims x 2 bytes x (K, V) + 12 bytes of position and token per slot */
    CHECK(mem.kv_bytes == 2u * 1024 * 32 * 2 * 2 + 1024 * 12, "kv bytes %zu", mem.kv_bytes);
    CHECK(mem.total_bytes >= mem.kv_bytes + mem.activation_bytes + mem.workspace_bytes, "total");
    CHECK(ctx == NULL, "a refused create returned a context");
    /* eval misuse */
    o.n_ctx = 16;
    CHECK_OK(lc_context_create(&tm.m, &o, &ctx, &err), &err);
    if (ctx) {
        int32_t t = 1;
        CHECK(lc_context_eval(ctx, &t, 0, NULL, false, &err) == LC_ERR_INVALID_ARG, "0 tokens accepted");
        CHECK(lc_context_eval(ctx, &t, 1, NULL, true, &err) == LC_ERR_INVALID_ARG, "all logits without buffer");
        int32_t neg = -1;
        CHECK(lc_context_eval(ctx, &neg, 1, NULL, false, &err) == LC_ERR_INVALID_ARG, "token -1 accepted");
        lc_generate_result res;
        CHECK(lc_generate(ctx, NULL, 0, NULL, NULL, 0, &res, &err) == LC_ERR_INVALID_ARG,
              "generation from nothing accepted");
        lc_context_free(ctx);
    }
    model_free(&tm);
}

int main(void) {
    test_against_reference();
    test_attention_variants();
    test_invariance();
    test_context_end();
    test_refusals();
    return lc_test_finish("test_forward");
}
