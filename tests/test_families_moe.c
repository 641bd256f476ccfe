/*
 * The mixture-of-experts families against their fixtures
 * (../shared/fixtures/gpt-oss/, qwen3-next/; README there): small random
 * models converted by llama.cpp's converter, 160 token ids, float32 logits
 * from Hugging Face transformers and from llama.cpp.
 *
 * gpt-oss (model.f16.gguf): the reference is HF with yarn `truncate: true`
 * (hf_logits_yarn_truncate_true.sub8.f32, rows 0, 8, ..., 152, 159), because
 * the GGUF carries no truncate flag and llama.cpp always rounds YaRN's
 * correction range (the fixture's hf_logits.f32 is truncate false).
 *   - f32 KV, one prefill: max |ours - HF| within tolerance (beside
 *     llama.cpp's own figure on the f16 file), argmax = HF where HF's
 *     top-1/top-2 margin > 0.05;
 *   - chunks of 7 then decode one token at a time = one prefill;
 *   - the learned sinks and the window matter (sink logits of -inf, or no
 *     window, move the logits far past the tolerance);
 *   - model.MXFP4_MOE.gguf (experts MXFP4, other matrices Q8_0) against
 *     llama.cpp's logits on that file (within 0.08; rows without an 8-bit
 *     rounding flip within 1e-5).
 * Qwen3-Next (model.f16.gguf, 3 Gated DeltaNet layers + 1 gated attention
 * layer, MoE with a shared expert) against hf_logits.f32, all 160 rows, and
 * llama.cpp on the same file; chunks of 7 then decode (the chunked and
 * the recurrent DeltaNet forms) = one prefill; truncation re-evaluates.
 * A fixture that is absent is skipped (saying so).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/model.h"
#include "longctx/runtime.h"
#include "test_util.h"
#include "test_fixture_util.h"

#define N_TOK_MAX 4096
#define MARGIN 0.05
#define N_SUB 21

static const int64_t sub8_rows[N_SUB] = {0,  8,  16, 24, 32, 40,  48,  56,  64,  72, 80,
                                         88, 96, 104, 112, 120, 128, 136, 144, 152, 159};

/* rows x V floats from path, or NULL (a failed check). */
static float *read_logits(const char *path, int64_t rows, int32_t V) {
    float *buf = lc_test_read_f32(path, (size_t)rows * (size_t)V);
    CHECK(buf != NULL, "%s: absent, or not %lld x %d f32", path, (long long)rows, V);
    return buf;
}

typedef struct {
    double max_diff;
    int64_t n_confident, n_agree;
} compare_result;

/* ours rows at `rows` (NULL: 0..n-1) against ref [n, V]. */
/* <dir>/<file>, or NULL when it is absent (saying so). */
static lc_model *load(const char *dir, const char *file) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return lc_test_load_if_present(path);
}

static compare_result compare(const float *ours, const int64_t *rows, const float *ref, int64_t n, int32_t V) {
    compare_result r;
    memset(&r, 0, sizeof r);
    for (int64_t i = 0; i < n; i++) {
        const float *o = ours + (rows ? rows[i] : i) * V, *h = ref + i * V;
        for (int32_t j = 0; j < V; j++) {
            double d = fabs((double)o[j] - (double)h[j]);
            if (!(d <= r.max_diff)) r.max_diff = d; /* NaN wins */
        }
        double margin;
        int32_t a = lc_test_argmax(h, V, &margin);
        if (margin > MARGIN) {
            r.n_confident++;
            r.n_agree += lc_test_argmax(o, V, NULL) == a;
        }
    }
    return r;
}

/* Logits of every position: one prefill (chunk 0), or prefill in chunks of
 * `chunk` for the first half and decode one token at a time after. */
static lc_status run_logits(const lc_model *m, const lc_context_opts *base, const int32_t *tok, int64_t n,
                            int64_t chunk, float *out, lc_error *err) {
    lc_context_opts o = *base;
    o.n_ctx = 256;
    o.n_batch = chunk > 0 ? chunk : 512;
    lc_context *ctx = NULL;
    lc_status st = lc_context_create(m, &o, &ctx, err);
    if (st != LC_OK) return st;
    const int32_t V = m->cfg.vocab_size;
    if (chunk <= 0) {
        st = lc_context_eval(ctx, tok, n, out, true, err);
    } else {
        const int64_t half = n / 2;
        st = lc_context_eval(ctx, tok, half, out, true, err);
        for (int64_t i = half; i < n && st == LC_OK; i++)
            st = lc_context_eval(ctx, tok + i, 1, out + i * V, false, err);
    }
    lc_context_free(ctx);
    return st;
}

/* lcpp: llama.cpp's figure to set beside it (see each call). */
static void report(const char *what, compare_result r, double tol, double lcpp) {
    fprintf(stderr, "%-40s max |diff| %.3g (tolerance %.3g; llama.cpp: %.3g); argmax agrees at %lld of %lld confident\n",
            what, r.max_diff, tol, lcpp, (long long)r.n_agree, (long long)r.n_confident);
}

/* ---- gpt-oss ------------------------------------------------------------------- */

static void check_gpt_oss(void) {
    char dir[1024], path[1200];
    lc_test_shared("fixtures/gpt-oss", dir, sizeof dir);
    lc_model *m = load(dir, "model.f16.gguf");
    if (!m) return;
    int32_t *tok = calloc(N_TOK_MAX, sizeof *tok);
    snprintf(path, sizeof path, "%s/tokens.json", dir);
    const int64_t n = lc_test_read_tokens_json(path, tok, N_TOK_MAX);
    CHECK(n == 160, "gpt-oss: %lld tokens in %s", (long long)n, path);
    const int32_t V = m->cfg.vocab_size;
    CHECK(strcmp(m->cfg.arch, "gpt-oss") == 0 && (m->cfg.fam.flags & LC_ARCH_MOE) && m->cfg.fam.n_experts == 4 &&
              m->cfg.fam.n_experts_used == 2 && m->cfg.fam.window == 32 &&
              lc_model_layer_kind(&m->cfg, 0) == LC_LAYER_WINDOW && lc_model_layer_kind(&m->cfg, 1) == LC_LAYER_GLOBAL,
          "gpt-oss: config (arch %s, experts %d/%d, window %lld)", m->cfg.arch, m->cfg.fam.n_experts,
          m->cfg.fam.n_experts_used, (long long)m->cfg.fam.window);
    snprintf(path, sizeof path, "%s/hf_logits_yarn_truncate_true.sub8.f32", dir);
    float *ref = read_logits(path, N_SUB, V);
    float *a = calloc((size_t)n * V, sizeof(float)), *b = calloc((size_t)n * V, sizeof(float));
    lc_error err = {0};
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.k_type = o.v_type = LC_DTYPE_F32;
    if (ref && n == 160) {
        /* llama.cpp: on the f32 file vs HF truncate true 7.66e-6; on this f16
         * file at position 0 (before the yarn rounding matters) 2.55e-3
         * (info.json). The f16 weights dominate: measured 2.5e-3. */
        const double tol = 5e-3;
        CHECK_OK(run_logits(m, &o, tok, n, 0, a, &err), &err);
        compare_result r = compare(a, sub8_rows, ref, N_SUB, V);
        report("gpt-oss f16 file, f32 KV vs HF (truncate)", r, tol, 2.55e-3);
        CHECK(r.max_diff <= tol, "gpt-oss: max |ours - HF| %g > %g", r.max_diff, tol);
        CHECK(r.n_confident >= N_SUB / 2, "gpt-oss: only %lld confident rows", (long long)r.n_confident);
        CHECK(r.n_agree == r.n_confident, "gpt-oss: argmax differs at %lld confident rows",
              (long long)(r.n_confident - r.n_agree));

        CHECK_OK(run_logits(m, &o, tok, n, 7, b, &err), &err);
        compare_result rc = compare(b, NULL, a, n, V);
        fprintf(stderr, "gpt-oss chunks of 7 + decode vs one prefill: max diff %.3g\n", rc.max_diff);
        CHECK(rc.max_diff <= 1e-4, "gpt-oss: chunked/decode differ from one prefill by %g", rc.max_diff);

        /* the window matters (layer 0 attends to 32 keys) */
        lc_context_opts ow = o;
        ow.swa = -1;
        CHECK_OK(run_logits(m, &ow, tok, n, 0, b, &err), &err);
        compare_result rw = compare(b, sub8_rows, ref, N_SUB, V);
        fprintf(stderr, "gpt-oss without its window: max diff %.3g\n", rw.max_diff);
        CHECK(rw.max_diff > 20 * tol, "gpt-oss: the window changes nothing (%g)", rw.max_diff);

        /* the learned sinks matter: sink logits of -inf are plain softmax */
        float no_sink[64];
        const lc_tensor saved[2] = {m->w.layers[0].attn_sinks, m->w.layers[1].attn_sinks};
        for (int h = 0; h < 64; h++) no_sink[h] = -INFINITY;
        CHECK(m->cfg.n_heads <= 64, "gpt-oss: %d heads", m->cfg.n_heads);
        for (int l = 0; l < 2; l++) m->w.layers[l].attn_sinks.data = no_sink;
        CHECK_OK(run_logits(m, &o, tok, n, 0, b, &err), &err);
        for (int l = 0; l < 2; l++) m->w.layers[l].attn_sinks = saved[l];
        compare_result rs = compare(b, sub8_rows, ref, N_SUB, V);
        fprintf(stderr, "gpt-oss with sink logits -inf: max diff %.3g\n", rs.max_diff);
        CHECK(rs.max_diff > 20 * tol, "gpt-oss: the sinks change nothing (%g)", rs.max_diff);
    }

    /* MXFP4 experts (Q8_0 other matrices) against llama.cpp on that file. */
    lc_model *mx = load(dir, "model.MXFP4_MOE.gguf");
    snprintf(path, sizeof path, "%s/llamacpp_logits_MXFP4_MOEmodel.sub8.f32", dir);
    float *ref_mx = mx ? read_logits(path, N_SUB, V) : NULL;
    if (mx && ref_mx && n == 160) {
        /* Both quantise the input of every MXFP4 and Q8_0 product to 8-bit
         * blocks (llama.cpp's vec_dot_type Q8_0). Given llama.cpp's own
         * intermediate tensors (tools/mxfp4_gap/), every product, the
         * attention with its sinks, RMSNorm, the routing and the clamped
         * SwiGLU agree to <= 5e-7 (RoPE's YaRN table 1.2e-5), and position
         * 0 agrees to 2.4e-7. At 64 of 160 positions a float-rounding
         * difference (attention's summation order, the RoPE table) moves
         * one 8-bit activation across a rounding boundary; the step
         * propagates: measured 0.028 on these 21 rows (0.033 over all 160).
         * llama.cpp differs from itself by 0.0226 between n_ubatch 256 and 1
         * on this file, longctx by 0.0219 between batch 512 and 1. The
         * former 0.19 was our Q8_0 matrices keeping f32 activations (fixed
         * when Q8_0 took the integer kernels; docs/models.md). llama.cpp's
         * own MXFP4-vs-f32 change is 1.78. Tolerance 0.08, and the rows
         * without a rounding flip must agree to 1e-5: position 0 and at
         * least 9 of the 21 (measured 13). */
        const double tol = 0.08;
        CHECK_OK(run_logits(mx, &o, tok, n, 0, a, &err), &err);
        compare_result r = compare(a, sub8_rows, ref_mx, N_SUB, V);
        report("gpt-oss MXFP4_MOE file vs llama.cpp", r, tol, 0.0226);
        CHECK(r.max_diff <= tol, "gpt-oss MXFP4: max |ours - llama.cpp| %g > %g", r.max_diff, tol);
        CHECK(r.n_agree == r.n_confident, "gpt-oss MXFP4: argmax differs at %lld confident rows",
              (long long)(r.n_confident - r.n_agree));
        int exact = 0;
        double row0 = 0.0;
        for (int i = 0; i < N_SUB; i++) {
            double d = 0.0;
            for (int32_t j = 0; j < V; j++) d = fmax(d, fabs((double)a[sub8_rows[i] * V + j] - (double)ref_mx[i * V + j]));
            exact += d <= 1e-5;
            if (i == 0) row0 = d;
        }
        fprintf(stderr, "gpt-oss MXFP4: position 0 differs by %.3g; %d of %d rows within 1e-5\n", row0, exact, N_SUB);
        CHECK(row0 <= 1e-5 && exact >= 9, "gpt-oss MXFP4: position 0 differs by %g, %d of %d rows within 1e-5", row0,
              exact, N_SUB);
    }
    free(ref_mx);
    lc_model_free(mx);
    free(a);
    free(b);
    free(ref);
    free(tok);
    lc_model_free(m);
}

/* ---- Qwen3-Next ---------------------------------------------------------------- */

static void check_qwen3_next(void) {
    char dir[1024], path[1200];
    lc_test_shared("fixtures/qwen3-next", dir, sizeof dir);
    lc_model *m = load(dir, "model.f16.gguf");
    if (!m) return;
    int32_t *tok = calloc(N_TOK_MAX, sizeof *tok);
    snprintf(path, sizeof path, "%s/tokens.json", dir);
    const int64_t n = lc_test_read_tokens_json(path, tok, N_TOK_MAX);
    CHECK(n == 160, "qwen3-next: %lld tokens in %s", (long long)n, path);
    const int32_t V = m->cfg.vocab_size;
    const lc_family *f = &m->cfg.fam;
    CHECK(strcmp(m->cfg.arch, "qwen3next") == 0 && f->n_experts == 4 && f->n_experts_used == 2 && f->shared_ffn == 128 &&
              f->full_attn_interval == 4 && f->ssm_n_k_heads == 4 && f->ssm_n_v_heads == 8 && f->ssm_d_k == 32 &&
              f->ssm_d_v == 32 && m->cfg.rope.n_dims == 16,
          "qwen3-next: config (arch %s, experts %d/%d shared %d, interval %d, ssm %d/%d heads %dx%d, rope dims %d)",
          m->cfg.arch, f->n_experts, f->n_experts_used, f->shared_ffn, f->full_attn_interval, f->ssm_n_k_heads,
          f->ssm_n_v_heads, f->ssm_d_k, f->ssm_d_v, m->cfg.rope.n_dims);
    for (int32_t l = 0; l < 4; l++)
        CHECK(lc_model_layer_kind(&m->cfg, l) == (l == 3 ? LC_LAYER_GLOBAL : LC_LAYER_DELTANET),
              "qwen3-next: layer %d is %s", l, lc_layer_kind_name(lc_model_layer_kind(&m->cfg, l)));
    snprintf(path, sizeof path, "%s/hf_logits.f32", dir);
    float *ref = n == 160 ? read_logits(path, n, V) : NULL;
    float *a = calloc((size_t)n * V, sizeof(float)), *b = calloc((size_t)n * V, sizeof(float));
    lc_error err = {0};
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.k_type = o.v_type = LC_DTYPE_F32;
    if (ref) {
        /* llama.cpp on this f16 file vs HF: 2.25e-2 (f32 file: 1.93e-5). */
        const double tol = 3e-2;
        CHECK_OK(run_logits(m, &o, tok, n, 0, a, &err), &err);
        compare_result r = compare(a, NULL, ref, n, V);
        report("qwen3-next f16 file, f32 KV vs HF", r, tol, 2.25e-2);
        CHECK(r.max_diff <= tol, "qwen3-next: max |ours - HF| %g > %g", r.max_diff, tol);
        CHECK(r.n_confident > n / 2, "qwen3-next: only %lld confident positions", (long long)r.n_confident);
        CHECK(r.n_agree == r.n_confident, "qwen3-next: argmax differs at %lld confident positions",
              (long long)(r.n_confident - r.n_agree));
        snprintf(path, sizeof path, "%s/llamacpp_logits_f16model.sub8.f32", dir);
        float *lc = read_logits(path, N_SUB, V);
        if (lc) {
            compare_result rl = compare(a, sub8_rows, lc, N_SUB, V);
            fprintf(stderr, "qwen3-next f16 file vs llama.cpp on it: max diff %.3g\n", rl.max_diff);
            CHECK(rl.max_diff <= tol, "qwen3-next: max |ours - llama.cpp| %g > %g", rl.max_diff, tol);
        }
        free(lc);

        /* prefill in chunks of 7 (the chunked DeltaNet form across calls),
         * then one token at a time (the recurrent form) */
        CHECK_OK(run_logits(m, &o, tok, n, 7, b, &err), &err);
        compare_result rc = compare(b, NULL, a, n, V);
        fprintf(stderr, "qwen3-next chunks of 7 + decode vs one prefill: max diff %.3g\n", rc.max_diff);
        CHECK(rc.max_diff <= 1e-4, "qwen3-next: chunked/decode differ from one prefill by %g", rc.max_diff);

        /* the context keeps one layer's KV and three recurrent states */
        lc_context *ctx = NULL;
        lc_context_opts oc = o;
        oc.n_ctx = 256;
        CHECK_OK(lc_context_create(m, &oc, &ctx, &err), &err);
        if (ctx) {
            lc_kv_stats ks;
            lc_context_kv_stats(ctx, &ks);
            CHECK(ks.bytes == (size_t)256 * 2 * 2 * 64 * sizeof(float),
                  "qwen3-next: KV bytes %zu, want one attention layer's", ks.bytes);
            CHECK_OK(lc_context_eval(ctx, tok, 10, NULL, false, &err), &err);
            /* the recurrent state cannot forget: truncation evaluates the
             * kept tokens again (tests/test_hybrid_kv.c checks the result) */
            CHECK_OK(lc_context_truncate(ctx, 5, &err), &err);
            CHECK(lc_context_n_past(ctx) == 5, "qwen3-next: %lld held after truncate", (long long)lc_context_n_past(ctx));
            lc_context_free(ctx);
        }
    }
    free(a);
    free(b);
    free(ref);
    free(tok);
    lc_model_free(m);
}

int main(void) {
    check_gpt_oss();
    check_qwen3_next();
    return lc_test_finish("test_families_moe");
}
