/*
 * mxfp4_gap MODEL DUMP: where longctx and llama.cpp part on gpt-oss's
 * model.MXFP4_MOE.gguf (experts MXFP4, attention and output Q8_0). DUMP is
 * lcpp_dump's record of every tensor llama.cpp computed for the fixture's
 * tokens (run.sh). Three views:
 *
 *  1. each operation of longctx fed llama.cpp's own input tensors, against
 *     llama.cpp's output tensor (every position): products, RoPE, attention
 *     with learned sinks and window, RMSNorm, routing, clamped SwiGLU, MoE;
 *  2. layer by layer from longctx's own attention outputs (the observer),
 *     the rows that differ by more than 1e-4 after each step;
 *  3. end to end, longctx's logits against llama.cpp's result_output, as
 *     the library runs (8-bit activations into every MXFP4 and Q8_0
 *     product) and with the Q8_0 matrices dequantised to f32 (f32
 *     activations: what longctx's Q8_0 path did before the integer kernels).
 *
 * A developer's tool (links the library's internals); not built by CMake.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "longctx/attn.h"
#include "longctx/kernels.h"
#include "longctx/model.h"
#include "longctx/moe.h"
#include "longctx/rope.h"
#include "runtime/runtime_internal.h"

#define WS_BYTES ((size_t)64 << 20)
#define MAX_T 4096

typedef struct {
    char name[128];
    int type;
    int ne[4];
    float *d;
} tens;
static tens T[MAX_T];
static int nT;

static int load_dump(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    int32_t h[6];
    while (nT < MAX_T && fread(h, 4, 6, f) == 6 && h[0] > 0 && h[0] < 128) {
        tens *t = &T[nT++];
        const size_t n = (size_t)h[2] * h[3] * h[4] * h[5];
        t->type = h[1];
        memcpy(t->ne, h + 2, sizeof t->ne);
        t->d = malloc(n * 4);
        if (fread(t->name, 1, (size_t)h[0], f) != (size_t)h[0] || fread(t->d, 4, n, f) != n) break;
        t->name[h[0]] = 0;
    }
    fclose(f);
    return nT;
}

/* The which-th tensor called name-layer (layer < 0: no suffix). */
static const float *get(const char *name, int layer, int which) {
    char nm[128];
    if (layer >= 0) snprintf(nm, sizeof nm, "%s-%d", name, layer);
    else snprintf(nm, sizeof nm, "%s", name);
    for (int i = 0, k = 0; i < nT; i++)
        if (!strcmp(T[i].name, nm) && k++ == which) return T[i].d;
    fprintf(stderr, "mxfp4_gap: %s (#%d) is not in the dump\n", nm, which);
    exit(1);
}

static void cmp(const char *what, const float *a, const float *b, int n, int w) {
    double mx = 0, mean = 0;
    int rows = 0;
    for (int i = 0; i < n; i++) {
        double rm = 0;
        for (int j = 0; j < w; j++) {
            const double d = fabs((double)a[(size_t)i * w + j] - (double)b[(size_t)i * w + j]);
            mean += d;
            rm = fmax(rm, d);
        }
        rows += rm > 1e-4;
        mx = fmax(mx, rm);
    }
    printf("  %-46s max |diff| %.3g, mean %.3g, rows > 1e-4: %d of %d\n", what, mx, mean / ((double)n * w), rows, n);
}

static lc_tensor rows_of(const lc_tensor *t, int64_t r0, int64_t nr) {
    lc_tensor v = *t;
    size_t rb = 0;
    lc_dtype_row_bytes(t->type, t->cols, &rb, NULL);
    v.data = (const char *)t->data + rb * (size_t)r0;
    v.rows = nr;
    return v;
}

static float *obs_out[8];
static void observe(void *user, int32_t layer, const lc_attn_shape *s, const lc_attn_params *p, const lc_attn_io *io) {
    (void)user;
    (void)p;
    const size_t n = (size_t)s->n_q * s->n_head * s->head_dim;
    if (layer < 0 || layer >= 8) return;
    free(obs_out[layer]);
    obs_out[layer] = malloc(n * 4);
    memcpy(obs_out[layer], io->out, n * 4);
}

static void dequant_q8(lc_tensor *t) {
    if (t->type != LC_DTYPE_Q8_0) return;
    float *d = malloc((size_t)t->rows * (size_t)t->cols * 4);
    size_t rb = 0;
    lc_dtype_row_bytes(t->type, t->cols, &rb, NULL);
    for (int64_t r = 0; r < t->rows; r++)
        lc_row_to_f32(t->type, (const char *)t->data + rb * (size_t)r, d + r * t->cols, t->cols, NULL);
    t->data = d;
    t->type = LC_DTYPE_F32;
}

static int logits(lc_model *m, const int32_t *tok, int n, lc_attn_observer_fn obs, float *out) {
    lc_context_opts o;
    lc_context_opts_init(&o);
    o.n_ctx = 256;
    o.n_threads = 1;
    o.k_type = o.v_type = LC_DTYPE_F32;
    lc_context *c = NULL;
    lc_error err;
    if (lc_context_create(m, &o, &c, &err) != LC_OK) return fprintf(stderr, "%s\n", err.msg), 0;
    lc_context_set_attn_observer(c, obs, NULL);
    const int ok = lc_context_eval(c, tok, n, out, true, &err) == LC_OK;
    lc_context_free(c);
    return ok;
}

int main(int argc, char **argv) {
    if (argc < 3 || !load_dump(argv[2])) return fprintf(stderr, "usage: mxfp4_gap MODEL DUMP\n"), 2;
    lc_model *m = NULL;
    lc_error err;
    if (lc_model_load(argv[1], NULL, &m, &err) != LC_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    lc_kernel_opts ko;
    lc_kernel_opts_init(&ko);
    ko.n_threads = 1;
    int n = 0;
    for (int i = 0; i < nT; i++)
        if (!strcmp(T[i].name, "attn_norm-0")) n = T[i].ne[1];
    const int D = m->cfg.dim, H = m->cfg.n_heads, HK = m->cfg.n_kv_heads, hd = m->cfg.head_dim, V = m->cfg.vocab_size;
    void *ws = malloc(WS_BYTES);
    float *y = malloc((size_t)n * 4096 * 4), *x = malloc((size_t)n * 4096 * 4), *z = malloc((size_t)n * 4096 * 4);
    lc_context_opts co;
    lc_context_opts_init(&co);
    co.n_ctx = 256;
    co.n_threads = 1;
    co.k_type = co.v_type = LC_DTYPE_F32;
    lc_context *cx = NULL;
    if (lc_context_create(m, &co, &cx, &err) != LC_OK) return fprintf(stderr, "%s\n", err.msg), 1;

    printf("1. each operation on llama.cpp's own inputs (%d positions)\n", n);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const lc_layer_weights *L = &m->w.layers[l];
        printf(" layer %d (attention %s, experts %s, router %s)\n", l, lc_dtype_name(L->wq.type),
               lc_dtype_name(L->gate_exps.type), lc_dtype_name(L->router.type));
        lc_matmul(&L->wq, get("attn_norm", l, 0), n, y, ws, WS_BYTES, &ko, &err);
        cmp("attn_q product (8-bit activations)", y, get("Qcur", l, 0), n, H * hd);
        memcpy(y, get("Qcur", l, 2), (size_t)n * H * hd * 4);
        lc_rope_apply_seq(cx->rope, y, n, H, hd, 0);
        cmp("RoPE (YaRN) of q", y, get("Qcur", l, 3), n, H * hd);
        lc_attn_shape sh = lc_rt_attn_shape(cx, n, n);
        sh.scale = m->cfg.fam.attn_scale;
        lc_attn_params ap = cx->layer_kind[l] == LC_LAYER_WINDOW ? cx->attn_window : cx->attn;
        ap.sink_logits = (const float *)L->attn_sinks.data;
        lc_attn_io io = {get("Qcur", l, 3), get("Kcur", l, 3), get("Vcur", l, 2), y, NULL};
        if (lc_attn_forward(&sh, &ap, &io, ws, WS_BYTES, &err) != LC_OK) fprintf(stderr, "%s\n", err.msg);
        cmp("attention (learned sinks, window)", y, get("kqv_out", l, 0), n, H * hd);
        lc_matmul(&L->wo, get("kqv_out", l, 0), n, y, ws, WS_BYTES, &ko, &err);
        for (int i = 0; i < n; i++) lc_add(y + (size_t)i * D, (const float *)L->bo.data, D, &ko);
        cmp("attn_output product + bias", y, get("attn_out", l, 0), n, D);
        float *nw = malloc((size_t)D * 4);
        lc_row_to_f32(L->ffn_norm.type, L->ffn_norm.data, nw, D, &err);
        lc_rmsnorm(y, get("ffn_inp", l, 0), nw, n, D, m->cfg.norm_eps, &ko);
        cmp("RMSNorm", y, get("attn_post_norm", l, 0), n, D);
        free(nw);
        lc_moe_layer ml;
        lc_rt_moe_layer(&m->cfg, L, &ml, &err);
        const float *xin = get("attn_post_norm", l, 0);
        int32_t *idx = malloc((size_t)n * ml.n_used * 4);
        float *w = malloc((size_t)n * ml.n_used * 4);
        lc_moe_route(&ml, n, xin, idx, w, ws, WS_BYTES, &ko, &err);
        const int32_t *as = (const int32_t *)get("ffn_moe_argsort", l, 0);
        int dsel = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < ml.n_used; j++) {
                int found = 0;
                for (int jj = 0; jj < ml.n_used; jj++) found |= idx[i * ml.n_used + jj] == as[i * ml.n_experts + j];
                dsel += !found;
            }
        printf("  %-46s %d of %d choices differ\n", "routing (top-k experts)", dsel, n * ml.n_used);
        const int64_t F = ml.ffn;
        const float *G = get("ffn_moe_gate", l, 0), *GB = get("ffn_moe_gate_biased", l, 0);
        const float *UB = get("ffn_moe_up_biased", l, 0), *SW = get("ffn_moe_swiglu_oai", l, 0);
        const float *DN = get("ffn_moe_down", l, 0);
        double dg = 0, ds = 0, dd = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < ml.n_used; j++) {
                const int e = as[i * ml.n_experts + j];
                const size_t r = (size_t)i * ml.n_used + j;
                lc_tensor gv = rows_of(&ml.gate_exps, e * F, F), dv = rows_of(&ml.down_exps, (int64_t)e * D, D);
                lc_matmul(&gv, xin + (size_t)i * D, 1, y, ws, WS_BYTES, &ko, &err);
                for (int64_t c = 0; c < F; c++) dg = fmax(dg, fabs(y[c] - G[r * F + c]));
                lc_moe_activate(&ml, GB + r * F, UB + r * F, y, F);
                for (int64_t c = 0; c < F; c++) ds = fmax(ds, fabs(y[c] - SW[r * F + c]));
                lc_matmul(&dv, SW + r * F, 1, y, ws, WS_BYTES, &ko, &err);
                for (int c = 0; c < D; c++) dd = fmax(dd, fabs(y[c] - DN[r * D + c]));
            }
        printf("  %-46s max |diff| %.3g\n", "expert gate product (MXFP4)", dg);
        printf("  %-46s max |diff| %.3g\n", "clamped SwiGLU", ds);
        printf("  %-46s max |diff| %.3g\n", "expert down product (MXFP4)", dd);
        lc_moe_forward(&ml, n, xin, y, ws, WS_BYTES, &ko, &err);
        cmp("whole MoE block", y, get("ffn_moe_out", l, 0), n, D);
        free(idx);
        free(w);
    }
    lc_matmul(&m->w.output, get("result_norm", -1, 0), n, y, ws, WS_BYTES, &ko, &err);
    cmp("output product", y, get("result_output", -1, 0), n, V);

    printf("2. layer by layer from longctx's own attention outputs\n");
    int32_t tok[4096];
    /* the token ids are not in the dump: the fixture's, from tokens.json via run.sh's argv */
    int nt = 0;
    for (int i = 3; i < argc && nt < 4096; i++) tok[nt++] = atoi(argv[i]);
    float *lg = malloc((size_t)n * V * 4);
    if (nt != n || !logits(m, tok, n, observe, lg)) return fprintf(stderr, "mxfp4_gap: give the %d token ids\n", n), 1;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const lc_layer_weights *L = &m->w.layers[l];
        printf(" layer %d\n", l);
        cmp("attention output (longctx's own inputs)", obs_out[l], get("kqv_out", l, 0), n, H * hd);
        lc_matmul(&L->wo, obs_out[l], n, y, ws, WS_BYTES, &ko, &err);
        for (int i = 0; i < n; i++) lc_add(y + (size_t)i * D, (const float *)L->bo.data, D, &ko);
        cmp("  then attn_output product + bias", y, get("attn_out", l, 0), n, D);
        const float *a_l = get("attn_out", l, 0), *f_l = get("ffn_inp", l, 0);
        for (size_t i = 0; i < (size_t)n * D; i++) x[i] = f_l[i] - a_l[i] + y[i]; /* llama.cpp's residual + ours */
        float *nw = malloc((size_t)D * 4);
        lc_row_to_f32(L->ffn_norm.type, L->ffn_norm.data, nw, D, &err);
        lc_rmsnorm(z, x, nw, n, D, m->cfg.norm_eps, &ko);
        free(nw);
        cmp("  then RMSNorm", z, get("attn_post_norm", l, 0), n, D);
        lc_moe_layer ml;
        lc_rt_moe_layer(&m->cfg, L, &ml, &err);
        lc_moe_forward(&ml, n, z, y, ws, WS_BYTES, &ko, &err);
        cmp("  then the MoE block", y, get("ffn_moe_out", l, 0), n, D);
    }

    printf("3. end to end against llama.cpp's logits\n");
    cmp("longctx (8-bit activations, as llama.cpp)", lg, get("result_output", -1, 0), n, V);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        lc_layer_weights *L = &m->w.layers[l];
        dequant_q8(&L->wq);
        dequant_q8(&L->wk);
        dequant_q8(&L->wv);
        dequant_q8(&L->wo);
    }
    dequant_q8(&m->w.output);
    if (logits(m, tok, n, NULL, lg)) cmp("Q8_0 matrices with f32 activations", lg, get("result_output", -1, 0), n, V);
    return 0;
}
