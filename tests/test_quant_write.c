/*
 * Quantized models: specs and llama.cpp's per-tensor rules, lc_quantize_gguf,
 * the model writer's quantized types, loading every block type (views into
 * the mapping, no copy) and running it, and the refusals (truncated files,
 * type/shape mismatches, non-finite values, requantizing, unknown types).
 *
 * Independent references: the tensor types llama.cpp's llama-quantize chose
 * for ../shared/fixtures/quants/llama3.<TYPE>.gguf, and the published
 * Llama-3-8B Q4_K_M census (193 q4_K + 33 q6_K matrices).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "gguf/gguf_internal.h"
#include "longctx/quant.h"
#include "longctx/runtime.h"
#include "model/model_internal.h"
#include "quant/quant.h"
#include "test_model_util.h"
#include "test_quant_util.h"
#include "test_util.h"

static char tmpdir[256];

static const char *tmp(const char *name, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", tmpdir, name);
    return buf;
}

static bool file_exists(const char *p) { return access(p, F_OK) == 0; }

/* ---- Specs and rules ------------------------------------------------------ */

static void test_specs(void) {
    lc_quant_spec s;
    lc_error err;
    CHECK_OK(lc_quant_spec_parse("q4_k_m", &s, &err), &err);
    CHECK(s.base == LC_DTYPE_Q4_K && s.k_m && !s.pure && s.file_type == 15 && strcmp(s.name, "Q4_K_M") == 0, "Q4_K_M");
    CHECK_OK(lc_quant_spec_parse("Q5_K", &s, &err), &err);
    CHECK(s.base == LC_DTYPE_Q5_K && s.k_m && s.file_type == 17, "Q5_K is Q5_K_M");
    CHECK_OK(lc_quant_spec_parse("Q4_0", &s, &err), &err);
    CHECK(s.base == LC_DTYPE_Q4_0 && !s.k_m && !s.pure && s.file_type == 2, "Q4_0");
    CHECK_OK(lc_quant_spec_parse("q6_K", &s, &err), &err);
    CHECK(s.base == LC_DTYPE_Q6_K && s.file_type == 18, "Q6_K");
    CHECK_OK(lc_quant_spec_parse("f16", &s, &err), &err);
    CHECK(s.base == LC_DTYPE_F16 && s.pure && s.file_type == 1, "F16");
    CHECK(lc_quant_spec_parse("q2_K", &s, &err) == LC_ERR_UNSUPPORTED && strstr(err.msg, "reads q2_K"), "q2_K: %s",
          err.msg);
    CHECK(lc_quant_spec_parse("iq4_xs", &s, &err) == LC_ERR_UNSUPPORTED, "iq4_xs: %s", err.msg);
    CHECK(lc_quant_spec_parse("Q4_K_X", &s, &err) == LC_ERR_INVALID_ARG && strstr(err.msg, "Q4_K_X"), "unknown: %s",
          err.msg);
    CHECK(lc_quant_spec_pure(LC_DTYPE_Q4_K, &s) && s.pure && s.base == LC_DTYPE_Q4_K, "pure q4_K");
    CHECK(!lc_quant_spec_pure(LC_DTYPE_Q3_K, &s) && !lc_quant_spec_pure(LC_DTYPE_COUNT, &s), "not writable");

    /* Which tensors are quantized at all */
    CHECK(lc_quant_tensor_is_weight("blk.3.ffn_up.weight", 2), "matrix");
    CHECK(!lc_quant_tensor_is_weight("blk.3.attn_norm.weight", 2), "norm");
    CHECK(!lc_quant_tensor_is_weight("blk.3.ffn_up.weight", 1), "1-D");
    CHECK(!lc_quant_tensor_is_weight("blk.3.attn_q.bias", 2), "bias");
    CHECK(!lc_quant_tensor_is_weight("blk.0.ffn_gate_inp.weight", 2), "MoE router");
    CHECK(!lc_quant_tensor_is_weight("rope_freqs.weight", 1), "rope_freqs");

    /* Fallbacks for rows that are not whole blocks */
    lc_quant_plan p;
    lc_quant_plan_init(&p, 1, 1, true);
    bool fb;
    CHECK_OK(lc_quant_spec_parse("Q4_K_M", &s, &err), &err);
    CHECK(lc_quant_choose(&s, &p, "blk.0.attn_q.weight", 2, 288, LC_DTYPE_F32, &fb) == LC_DTYPE_Q5_0 && fb, "q4_K 288");
    CHECK(lc_quant_choose(&s, &p, "blk.0.attn_q.weight", 2, 100, LC_DTYPE_F32, &fb) == LC_DTYPE_F16 && fb, "q4_K 100");
    /* llama.cpp: a classifier whose rows are not whole blocks of the base type
     * is Q8_0 by its own rule (not counted as a fallback) */
    CHECK(lc_quant_choose(&s, &p, "output.weight", 2, 288, LC_DTYPE_F32, &fb) == LC_DTYPE_Q8_0 && !fb, "output 288");
    CHECK(lc_quant_choose(&s, &p, "blk.0.attn_norm.weight", 1, 288, LC_DTYPE_F32, &fb) == LC_DTYPE_F32 && !fb, "norm");
    CHECK_OK(lc_quant_spec_parse("Q5_K_M", &s, &err), &err);
    CHECK(lc_quant_choose(&s, &p, "blk.0.ffn_up.weight", 2, 288, LC_DTYPE_F32, &fb) == LC_DTYPE_Q5_1 && fb, "q5_K 288");
    CHECK_OK(lc_quant_spec_parse("Q8_0", &s, &err), &err);
    CHECK(lc_quant_choose(&s, &p, "output.weight", 2, 288, LC_DTYPE_F32, &fb) == LC_DTYPE_Q8_0 && !fb, "q8_0 output");
    CHECK(lc_quant_choose(&s, &p, "blk.0.ffn_up.weight", 2, 100, LC_DTYPE_F32, &fb) == LC_DTYPE_F16 && fb, "q8_0 100");

    /* Llama-3-8B at Q4_K_M: 32 layers, untied; llama.cpp reports 193 q4_K
     * and 33 q6_K matrices (16 attn_v, 16 ffn_down, output). */
    CHECK_OK(lc_quant_spec_parse("Q4_K_M", &s, &err), &err);
    lc_quant_plan_init(&p, 32, 32, true);
    int n_q4 = 0, n_q6 = 0;
    const char *names[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    char name[64];
    n_q6 += lc_quant_choose(&s, &p, "token_embd.weight", 2, 4096, LC_DTYPE_BF16, NULL) == LC_DTYPE_Q6_K;
    n_q4++;
    n_q6 += lc_quant_choose(&s, &p, "output.weight", 2, 4096, LC_DTYPE_BF16, NULL) == LC_DTYPE_Q6_K;
    for (int l = 0; l < 32; l++)
        for (int k = 0; k < 7; k++) {
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, names[k]);
            lc_dtype t = lc_quant_choose(&s, &p, name, 2, k == 6 ? 14336 : 4096, LC_DTYPE_BF16, NULL);
            n_q4 += t == LC_DTYPE_Q4_K;
            n_q6 += t == LC_DTYPE_Q6_K;
        }
    CHECK(n_q4 == 193 && n_q6 == 33, "Llama-3-8B Q4_K_M census: %d q4_K, %d q6_K (llama.cpp: 193, 33)", n_q4, n_q6);
}

/* The types llama-quantize chose for the fixture's tensors, tensor by tensor. */
static void test_rules_vs_llama_quantize(void) {
    char dir[1024];
    if (!quant_shared("fixtures/quants", "llama-quantize's choices are not compared", dir, sizeof dir)) return;
    const char *types[] = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q5_K_M", "Q6_K"};
    for (size_t i = 0; i < LC_ARRAY_LEN(types); i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/llama3.%s.gguf", dir, types[i]);
        lc_gguf *g;
        lc_error err;
        CHECK_OK(lc_gguf_open(path, &g, &err), &err);
        if (!g) continue;
        lc_quant_spec s;
        CHECK_OK(lc_quant_spec_parse(types[i], &s, &err), &err);
        int64_t n_v = 0, n_layers = 0;
        for (int64_t k = 0; k < lc_gguf_n_tensors(g); k++) n_v += strstr(lc_gguf_tensor_at(g, k)->name, "attn_v.weight") != NULL;
        CHECK_OK(lc_gguf_get_i64(g, "llama.block_count", &n_layers, &err), &err);
        lc_quant_plan p;
        lc_quant_plan_init(&p, n_v, n_layers, lc_gguf_find_tensor(g, "output.weight") != NULL);
        int same = 0, n = (int)lc_gguf_n_tensors(g);
        for (int k = 0; k < n; k++) {
            const lc_gguf_tensor *t = lc_gguf_tensor_at(g, k);
            lc_dtype mine = lc_quant_choose(&s, &p, t->name, t->n_dims, t->ne[0], LC_DTYPE_F32, NULL);
            same += mine == t->dtype;
            CHECK(mine == t->dtype, "%s: %s: llama-quantize chose %s, longctx %s", types[i], t->name,
                  lc_dtype_name(t->dtype), lc_dtype_name(mine));
        }
        int64_t ft = -1;
        CHECK_OK(lc_gguf_get_i64(g, "general.file_type", &ft, &err), &err);
        CHECK(ft == (int64_t)s.file_type, "%s: general.file_type %lld, ours %u", types[i], (long long)ft, s.file_type);
        fprintf(stderr, "  %-6s: %d of %d tensor types as llama-quantize chose\n", types[i], same, n);
        lc_gguf_close(g);
    }
}

/* ---- lc_quantize_gguf on the llama3 f16 fixture ---------------------------- */

static double rel_rms(const float *a, const float *b, int64_t n) {
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) e += (double)(a[i] - b[i]) * (a[i] - b[i]), s += (double)b[i] * b[i];
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

static void test_quantize_file(void) {
    char src[1024], ref_path[1200], out[300];
    if (!quant_shared("fixtures/llama3/model.f16.gguf", "lc_quantize_gguf on it is not checked", src, sizeof src))
        return;
    if (!quant_shared("fixtures/quants/llama3.Q4_K_M.gguf", "our types are not compared with it", ref_path,
                      sizeof ref_path))
        ref_path[0] = '\0';
    lc_error err;
    lc_quant_spec s;
    CHECK_OK(lc_quant_spec_parse("Q4_K_M", &s, &err), &err);
    lc_quantize_opts o;
    lc_quantize_opts_init(&o);
    o.n_threads = 2;
    lc_quantize_report rep;
    CHECK_OK(lc_quantize_gguf(src, tmp("q4km.gguf", out, sizeof out), &s, &o, &rep, &err), &err);
    lc_gguf *gi = NULL, *go = NULL, *gr = NULL;
    CHECK_OK(lc_gguf_open(src, &gi, &err), &err);
    CHECK_OK(lc_gguf_open(out, &go, &err), &err);
    if (ref_path[0]) CHECK_OK(lc_gguf_open(ref_path, &gr, &err), &err);
    if (!gi || !go) goto done;
    CHECK(rep.n_tensors == lc_gguf_n_tensors(gi) && rep.count[LC_DTYPE_Q4_K] == 13 && rep.count[LC_DTYPE_Q6_K] == 3,
          "report: %lld tensors, %lld q4_K, %lld q6_K", (long long)rep.n_tensors,
          (long long)rep.count[LC_DTYPE_Q4_K], (long long)rep.count[LC_DTYPE_Q6_K]);
    {
        char *txt = NULL, want[128];
        size_t tl = 0;
        FILE *f = open_memstream(&txt, &tl);
        lc_quantize_report_print(f, "q.gguf", &s, &rep);
        fclose(f);
        snprintf(want, sizeof want, "wrote q.gguf: Q4_K_M, %lld tensors (%lld quantized, %lld fallbacks), ",
                 (long long)rep.n_tensors, (long long)rep.n_quantized, (long long)rep.n_fallback);
        CHECK(strncmp(txt, want, strlen(want)) == 0 && strstr(txt, "\ntensor types:") && strstr(txt, " q4_K 13") &&
                  strstr(txt, " q6_K 3\n") && rep.seconds > 0,
              "%s", txt);
        free(txt);
    }
    /* every key carried over (plus quantization_version), file_type set */
    CHECK(lc_gguf_n_kv(go) >= lc_gguf_n_kv(gi), "keys: %lld of %lld", (long long)lc_gguf_n_kv(go),
          (long long)lc_gguf_n_kv(gi));
    for (int64_t k = 0; k < lc_gguf_n_kv(gi); k++)
        CHECK(lc_gguf_find_key(go, lc_gguf_key_name(gi, k)) >= 0, "key %s kept", lc_gguf_key_name(gi, k));
    int64_t ft = 0, qv = 0;
    CHECK_OK(lc_gguf_get_i64(go, "general.file_type", &ft, &err), &err);
    CHECK_OK(lc_gguf_get_i64(go, "general.quantization_version", &qv, &err), &err);
    CHECK(ft == 15 && qv == 2, "file_type %lld, quantization_version %lld", (long long)ft, (long long)qv);
    for (int64_t k = 0; k < lc_gguf_n_tensors(gi); k++) {
        const lc_gguf_tensor *a = lc_gguf_tensor_at(gi, k), *b = lc_gguf_find_tensor(go, a->name);
        CHECK(b != NULL, "%s written", a->name);
        if (!b) continue;
        CHECK(memcmp(a->ne, b->ne, sizeof a->ne) == 0, "%s shape", a->name);
        if (gr) {
            const lc_gguf_tensor *r = lc_gguf_find_tensor(gr, a->name);
            CHECK(r && r->dtype == b->dtype, "%s: %s, llama-quantize %s", a->name, lc_dtype_name(b->dtype),
                  r ? lc_dtype_name(r->dtype) : "(absent)");
        }
        if (a->dtype == b->dtype) {
            CHECK(a->nbytes == b->nbytes && memcmp(a->data, b->data, a->nbytes) == 0, "%s copied", a->name);
            continue;
        }
        int64_t nel = a->ne[0] * a->ne[1] * a->ne[2] * a->ne[3];
        float *x = malloc((size_t)nel * sizeof(float)), *y = malloc((size_t)nel * sizeof(float));
        CHECK_OK(lc_row_to_f32(a->dtype, a->data, x, nel, &err), &err);
        CHECK_OK(lc_row_to_f32(b->dtype, b->data, y, nel, &err), &err);
        double e = rel_rms(y, x, nel);
        CHECK(e < (b->dtype == LC_DTYPE_Q6_K ? 0.03 : 0.1), "%s as %s: rms error %.4f of rms", a->name,
              lc_dtype_name(b->dtype), e);
        free(x);
        free(y);
    }
done:
    lc_gguf_close(gi);
    lc_gguf_close(go);
    lc_gguf_close(gr);
    unlink(out);

    /* already quantized input: refused unless allowed */
    if (ref_path[0]) {
        CHECK_OK(lc_quant_spec_parse("Q8_0", &s, &err), &err);
        CHECK(lc_quantize_gguf(ref_path, out, &s, &o, NULL, &err) == LC_ERR_UNSUPPORTED &&
                  strstr(err.msg, "already q") && strstr(err.msg, "--allow-requantize"),
              "requantize refused: %s", err.msg);
        CHECK(!file_exists(out), "nothing written on refusal");
        o.allow_requantize = true;
        CHECK_OK(lc_quantize_gguf(ref_path, out, &s, &o, &rep, &err), &err);
        CHECK(rep.count[LC_DTYPE_Q8_0] == 16, "requantized to q8_0: %lld", (long long)rep.count[LC_DTYPE_Q8_0]);
        unlink(out);
    }
    /* an output folder that does not exist */
    CHECK_OK(lc_quant_spec_parse("Q4_0", &s, &err), &err);
    CHECK(lc_quantize_gguf(src, "/nonexistent-dir/x.gguf", &s, &o, NULL, &err) == LC_ERR_IO, "no dir: %s", err.msg);
}

/* ---- Models of every block type ------------------------------------------- */

/* A small llama whose matrices are all `t` with random valid blocks, written
 * from an f32 random model's file (same keys and norms). */
static void write_typed_model(const char *f32_path, lc_dtype t, const char *path, lc_rng *rng) {
    lc_error err;
    lc_gguf *g;
    CHECK_OK(lc_gguf_open(f32_path, &g, &err), &err);
    if (!g) return;
    lc_gguf_writer *w;
    CHECK_OK(lc_gguf_writer_create(&w, &err), &err);
    for (int64_t k = 0; k < lc_gguf_n_kv(g); k++) CHECK_OK(lc_gguf_copy_kv(w, g, lc_gguf_key_name(g, k), &err), &err);
    const int64_t n = lc_gguf_n_tensors(g);
    uint8_t **bufs = calloc((size_t)n, sizeof *bufs);
    const lc_quant_traits *q = lc_quant_traits_of(t);
    for (int64_t k = 0; k < n; k++) {
        const lc_gguf_tensor *x = lc_gguf_tensor_at(g, k);
        if (x->n_dims == 2) {
            int64_t nb = x->ne[0] * x->ne[1] / q->block;
            bufs[k] = malloc((size_t)(nb * q->block_bytes));
            random_blocks(t, bufs[k], nb, rng);
            CHECK_OK(lc_gguf_add_tensor(w, x->name, t, 2, x->ne, bufs[k], &err), &err);
        } else {
            CHECK_OK(lc_gguf_add_tensor(w, x->name, x->dtype, x->n_dims, x->ne, x->data, &err), &err);
        }
    }
    CHECK_OK(lc_gguf_write(w, path, 0, &err), &err);
    lc_gguf_writer_free(w);
    for (int64_t k = 0; k < n; k++) free(bufs[k]);
    free(bufs);
    lc_gguf_close(g);
}

/* Logits of 7 prefilled tokens (GEMM) then 2 decoded ones (matvec). */
static bool run_model(const lc_model *m, float *logits, lc_error *err) {
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 32;
    co.n_threads = 2;
    co.k_type = co.v_type = LC_DTYPE_F32;
    lc_context *ctx;
    if (lc_context_create(m, &co, &ctx, err) != LC_OK) return false;
    const int32_t tok[9] = {1, 200, 3, 45, 77, 9, 130, 250, 17};
    const int64_t V = m->cfg.vocab_size;
    bool ok = lc_context_eval(ctx, tok, 7, logits, true, err) == LC_OK &&
              lc_context_eval(ctx, tok + 7, 1, logits + 7 * V, false, err) == LC_OK &&
              lc_context_eval(ctx, tok + 8, 1, logits + 8 * V, false, err) == LC_OK;
    lc_context_free(ctx);
    return ok;
}

static void test_models_of_every_type(void) {
    static const lc_dtype types[] = {LC_DTYPE_Q4_0, LC_DTYPE_Q4_1, LC_DTYPE_Q5_0,  LC_DTYPE_Q5_1,   LC_DTYPE_Q2_K,
                                     LC_DTYPE_Q3_K, LC_DTYPE_Q4_K, LC_DTYPE_Q5_K,  LC_DTYPE_Q6_K,   LC_DTYPE_IQ4_NL,
                                     LC_DTYPE_IQ4_XS, LC_DTYPE_MXFP4, LC_DTYPE_Q8_0};
    lc_model_config c = test_llama_config(256, 512, 2, 4, 2, 64, 256);
    lc_error err;
    lc_model *r = NULL;
    char f32_path[300], q_path[300], deq_path[300];
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 5, &r, &err), &err);
    if (!r) return;
    CHECK_OK(lc_model_write_gguf(tmp("f32.gguf", f32_path, sizeof f32_path), &r->cfg, &r->w, NULL, LC_DTYPE_F32, &err),
             &err);
    lc_model_free(r);
    lc_rng rng;
    lc_rng_seed(&rng, 8);
    const int64_t V = c.vocab_size;
    float *lq = malloc((size_t)(9 * V) * sizeof(float)), *lf = malloc((size_t)(9 * V) * sizeof(float));
    for (size_t i = 0; i < LC_ARRAY_LEN(types); i++) {
        const char *tn = lc_dtype_name(types[i]);
        write_typed_model(f32_path, types[i], tmp("typed.gguf", q_path, sizeof q_path), &rng);
        lc_gguf *g;
        CHECK_OK(lc_gguf_open(q_path, &g, &err), &err);
        if (!g) continue;
        lc_model *m = NULL;
        CHECK_OK(lc_model_from_gguf(g, &m, &err), &err);
        if (!m) {
            lc_gguf_close(g);
            continue;
        }
        /* views into the mapping: no copy of the weights */
        CHECK(m->w.layers[1].w_down.type == types[i] &&
                  m->w.layers[1].w_down.data == lc_gguf_find_tensor(g, "blk.1.ffn_down.weight")->data &&
                  m->w.tok_embd.data == lc_gguf_find_tensor(g, "token_embd.weight")->data,
              "%s: weights are views of the file", tn);
        /* the same weights dequantized to f32 (exact), as a second model */
        CHECK_OK(lc_model_write_gguf(tmp("deq.gguf", deq_path, sizeof deq_path), &m->cfg, &m->w, NULL, LC_DTYPE_F32,
                                     &err),
                 &err);
        lc_model *mf = NULL;
        CHECK_OK(lc_model_load(deq_path, NULL, &mf, &err), &err);
        bool okq = run_model(m, lq, &err);
        CHECK(okq, "%s model runs: %s", tn, err.msg);
        bool okf = mf && run_model(mf, lf, &err);
        CHECK(okf, "%s dequantized model runs: %s", tn, err.msg);
        if (okq && okf) {
            double worst = 0, scale = 1e-3;
            bool finite = true;
            for (int64_t k = 0; k < 9 * V; k++) {
                finite &= isfinite(lq[k]) != 0;
                worst = fmax(worst, fabs(lq[k] - lf[k]));
                scale = fmax(scale, fabs(lf[k]));
            }
            /* Same weights, different summation orders only; or, where the
             * products round the activations to 8 bits (the integer
             * kernels), that rounding's effect on the logits. */
            const double tol = lc_quant_products_round_acts(types[i]) ? 0.05 : 1e-4;
            CHECK(finite && worst <= tol * scale, "%s: logits differ from the dequantized model's by %.3g (max %.3g)",
                  tn, worst, scale);
            fprintf(stderr, "  %-6s model: prefill + decode logits within %.2g of the f32 copy's (max |logit| %.3g)\n",
                    tn, worst, scale);
        }
        lc_model_free(mf);
        lc_model_free(m);
    }
    free(lq);
    free(lf);
    unlink(q_path);
    unlink(deq_path);
    unlink(f32_path);
}

/* ---- Refusals -------------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

/* Where the ggml type id of tensor `name` is in the header. */
static uint8_t *type_field(uint8_t *b, size_t n, const char *name) {
    size_t len = strlen(name);
    for (size_t i = 8; i + len + 4 <= n; i++)
        if (lc_rd64(b + i - 8) == len && memcmp(b + i, name, len) == 0) {
            uint8_t *p = b + i + len;
            uint32_t nd = lc_rd32(p);
            return p + 4 + 8 * nd;
        }
    return NULL;
}

static void expect_refused(const uint8_t *b, size_t n, const char *want, const char *what) {
    lc_error err;
    lc_gguf *g = NULL;
    lc_status st = lc_gguf_open_memory(b, n, &g, &err);
    lc_model *m = NULL;
    if (st == LC_OK) {
        st = lc_model_from_gguf(g, &m, &err);
        if (st != LC_OK) lc_gguf_close(g);
        lc_model_free(m);
    }
    CHECK(st != LC_OK && strstr(err.msg, want), "%s: %s (%s)", what, st == LC_OK ? "accepted" : err.msg, want);
}

static void test_refusals(void) {
    lc_model_config c = test_llama_config(256, 512, 2, 4, 2, 64, 256);
    lc_error err;
    lc_model *r = NULL;
    char path[300];
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F16, 9, &r, &err), &err);
    if (!r) return;
    lc_quant_spec s;
    CHECK_OK(lc_quant_spec_parse("Q4_K_M", &s, &err), &err);
    CHECK_OK(lc_model_write_gguf_spec(tmp("m.gguf", path, sizeof path), &r->cfg, &r->w, NULL, &s, &err), &err);
    lc_model_free(r);
    size_t n = 0;
    uint8_t *b = slurp(path, &n);
    CHECK(b && n > 1000, "read back");
    if (!b) return;
    {
        lc_model *m = NULL;
        CHECK_OK(lc_model_load(path, NULL, &m, &err), &err);
        CHECK(m && m->w.layers[0].wq.type == LC_DTYPE_Q4_K && m->w.layers[1].wv.type == LC_DTYPE_Q6_K &&
                  m->w.layers[0].wv.type == LC_DTYPE_Q4_K && m->w.output.type == LC_DTYPE_Q6_K,
              "Q4_K_M model written by lc_model_write_gguf_spec");
        lc_model_free(m);
    }
    /* truncated mid-block: the last tensor's data runs past the end */
    for (size_t cut = 1; cut <= 301; cut += 100) expect_refused(b, n - cut, "past the end", "truncated");
    uint8_t *p = type_field(b, n, "blk.0.ffn_gate.weight");
    CHECK(p && lc_rd32(p) == 12, "q4_K type field found");
    if (p) {
        /* type mismatch: q4_K bytes declared as q6_K (larger) or q8_0 */
        lc_wr32(p, 14);
        expect_refused(b, n, "overlap", "q4_K declared q6_K");
        lc_wr32(p, 8);
        expect_refused(b, n, "overlap", "q4_K declared q8_0");
        /* an IQ2 type: known to GGUF, refused as a weight, naming both */
        lc_wr32(p, 16);
        expect_refused(b, n, "'blk.0.ffn_gate.weight' has type iq2_xxs", "iq2_xxs");
        lc_wr32(p, 19);
        expect_refused(b, n, "has type iq1_s", "iq1_s");
        lc_wr32(p, 12);
        /* shape mismatch: 255 columns are not whole q4_K blocks */
        uint8_t *ne0 = p - 16;
        CHECK(lc_rd64(ne0) == 256, "ne0 found");
        lc_wr64(ne0, 255);
        expect_refused(b, n, "not a multiple of its block of 256", "255 columns");
        lc_wr64(ne0, 512);
        expect_refused(b, n, "blk.0.ffn_gate.weight", "512 columns");
        lc_wr64(ne0, 256);
        expect_refused(b, n - 1, "past the end", "sanity: restored file cut by one");
    }
    free(b);
    unlink(path);

    /* a non-finite value is refused by the writer, and no file is left */
    lc_model *m = NULL;
    CHECK_OK(lc_model_create_random(&c, LC_DTYPE_F32, 9, &m, &err), &err);
    if (m) {
        float *wq = (float *)(uintptr_t)m->w.layers[1].wq.data;
        wq[3 * 256 + 17] = NAN;
        CHECK(lc_model_write_gguf_spec(tmp("nan.gguf", path, sizeof path), &m->cfg, &m->w, NULL, &s, &err) ==
                      LC_ERR_FORMAT &&
                  strstr(err.msg, "blk.1.attn_q.weight row 3"),
              "NaN: %s", err.msg);
        CHECK(!file_exists(path), "no file after a failed write");
        lc_model_free(m);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lc_test_quant_write_%d", (int)getpid());
    if (mkdir(tmpdir, 0700) != 0) {
        fprintf(stderr, "cannot create %s\n", tmpdir);
        return 1;
    }
    test_specs();
    test_rules_vs_llama_quantize();
    test_quantize_file();
    test_models_of_every_type();
    test_refusals();
    rmdir(tmpdir);
    return lc_test_finish("test_quant_write");
}
