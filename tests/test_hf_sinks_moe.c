/*
 * Learned sinks and the MoE blocks against Hugging Face transformers
 * (tools/moe_sinks_reference.py wrote tests/data/sinks and tests/data/moe
 * with transformers' own modules):
 *   - gpt-oss's eager_attention_forward with sinks (8 heads, 2 KV heads,
 *     d 32, 33 tokens, causal, without and with a sliding window of 8)
 *     against NAIVE, FLASH (split-KV off and forced), WINDOW, and the last
 *     row as a decode step;
 *   - GptOssMLP (router bias, top-k then softmax, interleaved gate_up_proj
 *     unpacked here as llama.cpp's converter does, clamped SwiGLU, biases)
 *     and Qwen3NextSparseMoeBlock (softmax, top-k, norm_topk_prob, shared
 *     expert with its sigmoid gate) against lc_moe_forward, f32 and f16.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/attn.h"
#include "longctx/moe.h"
#include "longctx/sys.h"
#include "test_util.h"

typedef struct {
    char *buf;
    size_t len, pos;
    bool ok;
} reader;

static bool load(const char *name, reader *r) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", LC_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    memset(r, 0, sizeof *r);
    if (!f) {
        CHECK(false, "%s is missing (it is committed)", path);
        return false;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    r->buf = malloc((size_t)n + 1);
    r->len = fread(r->buf, 1, (size_t)n, f);
    fclose(f);
    r->ok = r->len == (size_t)n;
    return true;
}

static void header(reader *r, int32_t *h, int n) {
    if (!r->ok || r->len < (size_t)n * 4) {
        r->ok = false;
        memset(h, 0, (size_t)n * 4);
        return;
    }
    memcpy(h, r->buf, (size_t)n * 4);
    r->pos = (size_t)n * 4;
}

static float *floats(reader *r, size_t n) {
    float *out = calloc(n + 1, sizeof(float));
    if (!r->ok || r->len - r->pos < n * 4) {
        r->ok = false;
        return out;
    }
    memcpy(out, r->buf + r->pos, n * 4);
    r->pos += n * 4;
    return out;
}

static void check_sinks(void) {
    reader r;
    if (!load("sinks/hf_gpt_oss_sinks.bin", &r)) return;
    int32_t h[5];
    header(&r, h, 5);
    const int64_t T = h[0];
    const int32_t H = h[1], Hkv = h[2], d = h[3], W = h[4];
    const size_t nq = (size_t)(T * H * d), nk = (size_t)(T * Hkv * d);
    float *q = floats(&r, nq), *k = floats(&r, nk), *v = floats(&r, nk), *sk = floats(&r, (size_t)H);
    float *ref[2] = {floats(&r, nq), floats(&r, nq)};
    CHECK(r.ok && r.pos == r.len, "hf_gpt_oss_sinks.bin: %zu of %zu bytes", r.pos, r.len);
    float *out = malloc(nq * 4);
    lc_error err;
    for (int win = 0; win < 2; win++)
        for (int m = 0; m < 4; m++) {
            lc_attn_shape s;
            memset(&s, 0, sizeof s);
            s.n_q = s.n_kv = T;
            s.n_head = H;
            s.n_head_kv = Hkv;
            s.head_dim = d;
            s.k_type = s.v_type = LC_DTYPE_F32;
            s.causal = true;
            lc_attn_params p;
            lc_attn_params_init(&p, m == 0 ? LC_ATTN_NAIVE : m == 3 || win ? LC_ATTN_WINDOW : LC_ATTN_FLASH);
            p.window = win ? W : T; /* window T over T tokens: all of them */
            p.n_sinks = 0;
            p.split_kv = m == 2 ? 1 : -1;
            p.sink_logits = sk;
            uint8_t *mask = NULL;
            if (m == 0 && win) {
                mask = malloc((size_t)(T * T));
                for (int64_t i = 0; i < T; i++)
                    for (int64_t j = 0; j < T; j++) mask[i * T + j] = i - j < W;
                p.mask = mask;
            }
            lc_attn_io io = {q, k, v, out, NULL};
            CHECK_OK(lc_attn(&s, &p, &io, &err), &err);
            double e = lc_test_rel_err(out, ref[win], nq, 1e-3);
            CHECK(e < 2e-6, "%s split=%d window=%d vs transformers: %.3g", lc_attn_method_name(p.method), p.split_kv,
                  win ? W : 0, e);
            free(mask);
            /* the last row as a decode step, split-KV forced */
            s.n_q = 1;
            s.q_pos0 = T - 1;
            p.split_kv = 1;
            p.mask = NULL;
            if (m == 0 && win) continue;
            io.q = q + (size_t)(T - 1) * H * d;
            CHECK_OK(lc_attn(&s, &p, &io, &err), &err);
            e = lc_test_rel_err(out, ref[win] + (size_t)(T - 1) * H * d, (size_t)(H * d), 1e-3);
            CHECK(e < 2e-6, "%s decode window=%d vs transformers: %.3g", lc_attn_method_name(p.method), win ? W : 0,
                  e);
        }
    free(q), free(k), free(v), free(sk), free(ref[0]), free(ref[1]), free(out), free(r.buf);
}

/* f32 data as a tensor of type t (f32 or f16); *hold owns the bytes. */
static lc_tensor tensor(const float *src, int64_t rows, int64_t cols, lc_dtype t, void **hold) {
    const size_t n = (size_t)(rows * cols);
    lc_tensor out = {t, rows, cols, NULL};
    if (t == LC_DTYPE_F16) {
        uint16_t *h = malloc(n * 2);
        lc_f32_to_f16_row(src, h, (int64_t)n);
        *hold = h;
    } else {
        float *f = malloc(n * 4);
        memcpy(f, src, n * 4);
        *hold = f;
    }
    out.data = *hold;
    return out;
}

static double run_moe(const lc_moe_layer *L, int64_t T, const float *x, const float *yref) {
    lc_error err;
    size_t bytes = 0;
    CHECK_OK(lc_moe_workspace(L, T, 2, &bytes, &err), &err);
    void *ws = lc_malloc_aligned(bytes ? bytes : 64);
    float *y = malloc((size_t)(T * L->dim) * 4);
    lc_kernel_opts o;
    lc_kernel_opts_init(&o);
    o.n_threads = 2;
    CHECK_OK(lc_moe_forward(L, T, x, y, ws, bytes, &o, &err), &err);
    const double e = lc_test_rel_err(y, yref, (size_t)(T * L->dim), 1e-3);
    free(y);
    lc_free_aligned(ws);
    return e;
}

static void check_gpt_oss_mlp(void) {
    reader r;
    if (!load("moe/hf_gpt_oss_mlp.bin", &r)) return;
    int32_t h[5];
    header(&r, h, 5);
    const int64_t T = h[0], dim = h[1], ffn = h[2];
    const int32_t E = h[3], k = h[4];
    float *x = floats(&r, (size_t)(T * dim)), *rw = floats(&r, (size_t)(E * dim)), *rb = floats(&r, (size_t)E);
    float *gu = floats(&r, (size_t)(E * dim * 2 * ffn)), *gub = floats(&r, (size_t)(E * 2 * ffn));
    float *down = floats(&r, (size_t)(E * ffn * dim)), *db = floats(&r, (size_t)(E * dim));
    float *yref = floats(&r, (size_t)(T * dim));
    CHECK(r.ok && r.pos == r.len, "hf_gpt_oss_mlp.bin: %zu of %zu bytes", r.pos, r.len);
    /* HF: gate_up [E][dim][2 ffn] used as x @ gate_up, gate = even columns, up = odd;
     * down [E][ffn][dim] used as h @ down. Ours: rows = outputs. */
    float *G = malloc((size_t)(E * ffn * dim) * 4), *U = malloc((size_t)(E * ffn * dim) * 4);
    float *D = malloc((size_t)(E * dim * ffn) * 4), *gb = malloc((size_t)(E * ffn) * 4), *ub = malloc((size_t)(E * ffn) * 4);
    for (int32_t e = 0; e < E; e++) {
        for (int64_t j = 0; j < ffn; j++) {
            for (int64_t c = 0; c < dim; c++) {
                G[(e * ffn + j) * dim + c] = gu[((int64_t)e * dim + c) * 2 * ffn + 2 * j];
                U[(e * ffn + j) * dim + c] = gu[((int64_t)e * dim + c) * 2 * ffn + 2 * j + 1];
            }
            gb[e * ffn + j] = gub[(int64_t)e * 2 * ffn + 2 * j];
            ub[e * ffn + j] = gub[(int64_t)e * 2 * ffn + 2 * j + 1];
        }
        for (int64_t i = 0; i < dim; i++)
            for (int64_t j = 0; j < ffn; j++) D[(e * dim + i) * ffn + j] = down[((int64_t)e * ffn + j) * dim + i];
    }
    for (int t = 0; t < 2; t++) {
        const lc_dtype wt = t ? LC_DTYPE_F16 : LC_DTYPE_F32;
        void *h1, *h2, *h3, *h4;
        lc_moe_layer L;
        lc_moe_layer_init(&L);
        L.n_experts = E;
        L.n_used = k;
        L.dim = dim;
        L.ffn = ffn;
        L.routing = LC_MOE_TOPK_SOFTMAX;
        L.act = LC_MOE_SWIGLU_OAI;
        L.router = tensor(rw, E, dim, LC_DTYPE_F32, &h1);
        L.router_bias = rb;
        L.gate_exps = tensor(G, E * ffn, dim, wt, &h2);
        L.up_exps = tensor(U, E * ffn, dim, wt, &h3);
        L.down_exps = tensor(D, E * dim, ffn, wt, &h4);
        L.gate_bias = gb;
        L.up_bias = ub;
        L.down_bias = db;
        const double e = run_moe(&L, T, x, yref);
        CHECK(e < (t ? 3e-3 : 2e-6), "GptOssMLP (%s experts) vs transformers: %.3g", lc_dtype_name(wt), e);
        free(h1), free(h2), free(h3), free(h4);
    }
    free(x), free(rw), free(rb), free(gu), free(gub), free(down), free(db), free(yref);
    free(G), free(U), free(D), free(gb), free(ub), free(r.buf);
}

static void check_qwen3next_moe(void) {
    reader r;
    if (!load("moe/hf_qwen3next_moe.bin", &r)) return;
    int32_t h[6];
    header(&r, h, 6);
    const int64_t T = h[0], dim = h[1], ffn = h[2], sf = h[5];
    const int32_t E = h[3], k = h[4];
    float *x = floats(&r, (size_t)(T * dim)), *rw = floats(&r, (size_t)(E * dim));
    float *gu = floats(&r, (size_t)(E * 2 * ffn * dim)), *down = floats(&r, (size_t)(E * dim * ffn));
    float *sg = floats(&r, (size_t)(sf * dim)), *su = floats(&r, (size_t)(sf * dim)), *sd = floats(&r, (size_t)(dim * sf));
    float *sgi = floats(&r, (size_t)dim), *yref = floats(&r, (size_t)(T * dim));
    CHECK(r.ok && r.pos == r.len, "hf_qwen3next_moe.bin: %zu of %zu bytes", r.pos, r.len);
    /* HF: gate_up [E][2 ffn][dim], gate = first ffn rows, up = the rest */
    float *G = malloc((size_t)(E * ffn * dim) * 4), *U = malloc((size_t)(E * ffn * dim) * 4);
    for (int32_t e = 0; e < E; e++) {
        memcpy(G + (int64_t)e * ffn * dim, gu + (int64_t)e * 2 * ffn * dim, (size_t)(ffn * dim) * 4);
        memcpy(U + (int64_t)e * ffn * dim, gu + ((int64_t)e * 2 * ffn + ffn) * dim, (size_t)(ffn * dim) * 4);
    }
    for (int t = 0; t < 2; t++) {
        const lc_dtype wt = t ? LC_DTYPE_F16 : LC_DTYPE_F32;
        void *hold[8];
        lc_moe_layer L;
        lc_moe_layer_init(&L);
        L.n_experts = E;
        L.n_used = k;
        L.dim = dim;
        L.ffn = ffn;
        L.routing = LC_MOE_SOFTMAX_TOPK;
        L.norm_topk = true;
        L.act = LC_MOE_SWIGLU;
        L.router = tensor(rw, E, dim, LC_DTYPE_F32, &hold[0]);
        L.gate_exps = tensor(G, E * ffn, dim, wt, &hold[1]);
        L.up_exps = tensor(U, E * ffn, dim, wt, &hold[2]);
        L.down_exps = tensor(down, E * dim, ffn, wt, &hold[3]);
        L.shared_ffn = sf;
        L.shared_gate = tensor(sg, sf, dim, wt, &hold[4]);
        L.shared_up = tensor(su, sf, dim, wt, &hold[5]);
        L.shared_down = tensor(sd, dim, sf, wt, &hold[6]);
        L.shared_gate_inp = tensor(sgi, 1, dim, LC_DTYPE_F32, &hold[7]);
        const double e = run_moe(&L, T, x, yref);
        CHECK(e < (t ? 3e-3 : 2e-6), "Qwen3NextSparseMoeBlock (%s experts) vs transformers: %.3g", lc_dtype_name(wt),
              e);
        for (int i = 0; i < 8; i++) free(hold[i]);
    }
    free(x), free(rw), free(gu), free(down), free(sg), free(su), free(sd), free(sgi), free(yref);
    free(G), free(U), free(r.buf);
}

int main(void) {
    check_sinks();
    check_gpt_oss_mlp();
    check_qwen3next_moe();
    return lc_test_finish("test_hf_sinks_moe");
}
