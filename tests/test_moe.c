/*
 * The MoE feed-forward block (include/longctx/moe.h) against a naive
 * per-token reference written here in double: router logits, the family's
 * routing (gpt-oss: top-k then softmax; Qwen3-Next: softmax, top-k,
 * normalised or not), each selected expert's FFN with biases and the plain or
 * the gpt-oss clamped SwiGLU, the sigmoid-gated shared expert.
 * Weights f32, f16, q8_0, q4_0 and MXFP4 (gpt-oss's experts; the reference
 * reads the same values, dequantized); 1 token (decode), a few, and more than one block of 1024 tokens;
 * 1 and 3 threads; scalar and AVX2. Also: lc_moe_route's choices, the
 * activation's formula at and past the clamp, and refusals.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "longctx/moe.h"
#include "longctx/sys.h"
#include "quant/quant.h"
#include "test_util.h"

typedef struct {
    lc_tensor t;
    float *ref; /* the values as the reference reads them (after conversion) */
    void *data;
} wmat;

/* MXFP4 and Q4_0 (no quantizer in longctx): random blocks of about amp,
 * the reference reads them through the type's dequantization. */
static void wmat_make_blocks(wmat *m, lc_rng *rng, lc_dtype type, int64_t rows, int64_t cols, float amp) {
    const lc_quant_traits *tr = lc_quant_traits_of(type);
    const size_t nb = (size_t)(rows * cols) / (size_t)tr->block;
    uint8_t *bytes = malloc(nb * (size_t)tr->block_bytes);
    for (size_t i = 0; i < nb * (size_t)tr->block_bytes; i++) bytes[i] = (uint8_t)lc_rng_u64(rng);
    for (size_t b = 0; b < nb; b++) {
        uint8_t *blk = bytes + b * (size_t)tr->block_bytes;
        if (type == LC_DTYPE_MXFP4) { /* e8m0 scale: values up to 12 * 2^(e - 128) */
            blk[0] = (uint8_t)(126 + (int)log2f(amp / 6.0f) + (int)lc_rng_below(rng, 2));
        } else { /* q4_0: f16 scale, values (q - 8) d */
            const uint16_t d = lc_f32_to_f16(amp / 6.0f * (0.5f + lc_rng_uniform(rng)));
            memcpy(blk, &d, 2);
        }
    }
    m->ref = malloc((size_t)(rows * cols) * sizeof(float));
    tr->to_f32(bytes, m->ref, rows * cols);
    m->data = bytes;
    m->t.type = type;
    m->t.rows = rows;
    m->t.cols = cols;
    m->t.data = bytes;
}

static void wmat_make(wmat *m, lc_rng *rng, lc_dtype type, int64_t rows, int64_t cols, float amp) {
    if (type == LC_DTYPE_MXFP4 || type == LC_DTYPE_Q4_0) {
        wmat_make_blocks(m, rng, type, rows, cols, amp);
        return;
    }
    const size_t n = (size_t)(rows * cols);
    m->ref = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) m->ref[i] = amp * lc_rng_normal(rng);
    size_t rb = 0;
    lc_dtype_row_bytes(type, cols, &rb, NULL);
    m->data = malloc(rb * (size_t)rows);
    for (int64_t r = 0; r < rows; r++) {
        float *src = m->ref + r * cols;
        char *dst = (char *)m->data + (size_t)r * rb;
        if (type == LC_DTYPE_F32) {
            memcpy(dst, src, (size_t)cols * 4);
        } else if (type == LC_DTYPE_F16) {
            lc_f32_to_f16_row(src, (uint16_t *)dst, cols);
            for (int64_t i = 0; i < cols; i++) src[i] = lc_f16_to_f32(((uint16_t *)dst)[i]);
        } else {
            lc_quantize_row_q8_0(src, (lc_block_q8_0 *)dst, cols);
            lc_dequantize_row_q8_0((const lc_block_q8_0 *)dst, src, cols);
        }
    }
    m->t.type = type;
    m->t.rows = rows;
    m->t.cols = cols;
    m->t.data = m->data;
}

static void wmat_free(wmat *m) {
    free(m->ref);
    free(m->data);
}

typedef struct {
    lc_moe_layer L;
    wmat router, gate, up, down, sgate, sup, sdown, sinp;
    float *rb, *gb, *ub, *db;
} moe_case;

static float *vec(lc_rng *rng, int64_t n, float amp) {
    float *v = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) v[i] = amp * lc_rng_normal(rng);
    return v;
}

static void case_make(moe_case *c, bool oai, int32_t E, int32_t k, int64_t dim, int64_t ffn, int64_t sffn,
                      lc_dtype wt, uint64_t seed) {
    lc_rng rng;
    lc_rng_seed(&rng, seed);
    memset(c, 0, sizeof *c);
    lc_moe_layer *L = &c->L;
    lc_moe_layer_init(L);
    L->n_experts = E;
    L->n_used = k;
    L->dim = dim;
    L->ffn = ffn;
    L->routing = oai ? LC_MOE_TOPK_SOFTMAX : LC_MOE_SOFTMAX_TOPK;
    L->act = oai ? LC_MOE_SWIGLU_OAI : LC_MOE_SWIGLU;
    const float amp = oai ? 0.6f : 0.15f; /* gpt-oss: pre-activations past the clamp of 7 */
    wmat_make(&c->router, &rng, LC_DTYPE_F32, E, dim, 0.3f);
    wmat_make(&c->gate, &rng, wt, E * ffn, dim, amp);
    wmat_make(&c->up, &rng, wt, E * ffn, dim, amp);
    wmat_make(&c->down, &rng, wt, E * dim, ffn, 0.1f);
    L->router = c->router.t;
    L->gate_exps = c->gate.t;
    L->up_exps = c->up.t;
    L->down_exps = c->down.t;
    if (oai) {
        L->router_bias = c->rb = vec(&rng, E, 0.5f);
        L->gate_bias = c->gb = vec(&rng, E * ffn, 0.5f);
        L->up_bias = c->ub = vec(&rng, E * ffn, 0.5f);
        L->down_bias = c->db = vec(&rng, E * dim, 0.5f);
    }
    if (sffn > 0) {
        L->shared_ffn = sffn;
        wmat_make(&c->sgate, &rng, wt, sffn, dim, 0.15f);
        wmat_make(&c->sup, &rng, wt, sffn, dim, 0.15f);
        wmat_make(&c->sdown, &rng, wt, dim, sffn, 0.1f);
        wmat_make(&c->sinp, &rng, LC_DTYPE_F32, 1, dim, 0.2f);
        L->shared_gate = c->sgate.t;
        L->shared_up = c->sup.t;
        L->shared_down = c->sdown.t;
        L->shared_gate_inp = c->sinp.t;
    }
}

static void case_free(moe_case *c) {
    wmat_free(&c->router), wmat_free(&c->gate), wmat_free(&c->up), wmat_free(&c->down);
    if (c->L.shared_ffn > 0) wmat_free(&c->sgate), wmat_free(&c->sup), wmat_free(&c->sdown), wmat_free(&c->sinp);
    free(c->rb), free(c->gb), free(c->ub), free(c->db);
}

static double dotd(const float *a, const float *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static double act_ref(const lc_moe_layer *L, double g, double u) {
    if (L->act == LC_MOE_SWIGLU_OAI) {
        const double lim = L->swiglu_limit;
        g = g > lim ? lim : g;
        u = u > lim ? lim : u < -lim ? -lim : u;
        return g / (1.0 + exp(-(double)L->swiglu_alpha * g)) * (u + 1.0);
    }
    return g / (1.0 + exp(-g)) * u;
}

/* Reference for one token; returns false when its routing is a near tie
 * (the k-th and (k+1)-th scores within 1e-5), where float and double may
 * rightly pick different experts. sel/wsel get the choice. */
static bool reference(const moe_case *c, const float *x, double *y, int32_t *sel, double *wsel) {
    const lc_moe_layer *L = &c->L;
    const int32_t E = L->n_experts, k = L->n_used;
    const int64_t dim = L->dim, ffn = L->ffn;
    double score[256];
    for (int32_t e = 0; e < E; e++) score[e] = dotd(c->router.ref + e * dim, x, dim) + (c->rb ? c->rb[e] : 0.0);
    if (L->routing == LC_MOE_SOFTMAX_TOPK) {
        double mx = -INFINITY, s = 0;
        for (int32_t e = 0; e < E; e++) mx = fmax(mx, score[e]);
        for (int32_t e = 0; e < E; e++) s += exp(score[e] - mx);
        for (int32_t e = 0; e < E; e++) score[e] = exp(score[e] - mx) / s;
    }
    bool used[256] = {false};
    for (int32_t s = 0; s < k; s++) {
        int32_t b = -1;
        for (int32_t e = 0; e < E; e++)
            if (!used[e] && (b < 0 || score[e] > score[b])) b = e;
        used[b] = true;
        sel[s] = b;
        wsel[s] = score[b];
    }
    bool clear = true;
    for (int32_t e = 0; e < E; e++)
        if (!used[e] && fabs(score[e] - wsel[k - 1]) < 1e-5) clear = false;
    if (L->routing == LC_MOE_TOPK_SOFTMAX) {
        double mx = wsel[0], s = 0;
        for (int32_t i = 0; i < k; i++) s += exp(wsel[i] - mx);
        for (int32_t i = 0; i < k; i++) wsel[i] = exp(wsel[i] - mx) / s;
    } else if (L->norm_topk) {
        double s = 0;
        for (int32_t i = 0; i < k; i++) s += wsel[i];
        for (int32_t i = 0; i < k; i++) wsel[i] /= s;
    }
    for (int64_t i = 0; i < dim; i++) y[i] = 0;
    double *h = malloc((size_t)LC_MAX(ffn, L->shared_ffn) * sizeof(double));
    for (int32_t s = 0; s < k; s++) {
        const int32_t e = sel[s];
        for (int64_t j = 0; j < ffn; j++) {
            const double g = dotd(c->gate.ref + (e * ffn + j) * dim, x, dim) + (c->gb ? c->gb[e * ffn + j] : 0.0);
            const double u = dotd(c->up.ref + (e * ffn + j) * dim, x, dim) + (c->ub ? c->ub[e * ffn + j] : 0.0);
            h[j] = act_ref(L, g, u);
        }
        for (int64_t i = 0; i < dim; i++) {
            double d = c->db ? c->db[e * dim + i] : 0.0;
            const float *row = c->down.ref + (e * dim + i) * ffn;
            for (int64_t j = 0; j < ffn; j++) d += row[j] * h[j];
            y[i] += wsel[s] * d;
        }
    }
    if (L->shared_ffn > 0) {
        const int64_t sf = L->shared_ffn;
        for (int64_t j = 0; j < sf; j++) {
            const double g = dotd(c->sgate.ref + j * dim, x, dim), u = dotd(c->sup.ref + j * dim, x, dim);
            h[j] = g / (1 + exp(-g)) * u;
        }
        const double gate = 1.0 / (1.0 + exp(-dotd(c->sinp.ref, x, dim)));
        for (int64_t i = 0; i < dim; i++) {
            double d = 0;
            for (int64_t j = 0; j < sf; j++) d += c->sdown.ref[i * sf + j] * h[j];
            y[i] += gate * d;
        }
    }
    free(h);
    return clear;
}

static void check_case(bool oai, int32_t E, int32_t k, int64_t dim, int64_t ffn, int64_t sffn, lc_dtype wt, int64_t n,
                       bool norm, uint64_t seed) {
    moe_case c;
    case_make(&c, oai, E, k, dim, ffn, sffn, wt, seed);
    c.L.norm_topk = norm;
    lc_rng rng;
    lc_rng_seed(&rng, seed + 1000);
    float *x = vec(&rng, n * dim, 1.0f), *y = malloc((size_t)(n * dim) * 4);
    double *ref = malloc((size_t)(n * dim) * sizeof(double));
    int32_t *rsel = malloc((size_t)(n * k) * 4), *idx = malloc((size_t)(n * k) * 4);
    double *rw = malloc((size_t)(n * k) * sizeof(double));
    float *w = malloc((size_t)(n * k) * 4);
    bool *clear = malloc((size_t)n);
    int64_t n_clear = 0;
    for (int64_t t = 0; t < n; t++) {
        clear[t] = reference(&c, x + t * dim, ref + t * dim, rsel + t * k, rw + t * k);
        n_clear += clear[t];
    }
    char what[160];
    snprintf(what, sizeof what, "%s E=%d k=%d dim=%lld ffn=%lld shared=%lld %s n=%lld norm=%d",
             oai ? "gpt-oss" : "qwen3-next", E, k, (long long)dim, (long long)ffn, (long long)sffn, lc_dtype_name(wt),
             (long long)n, norm);
    CHECK(n_clear >= n - LC_MAX(1, n / 50), "too many near-tie routings (%lld of %lld) (%s)", (long long)(n - n_clear),
          (long long)n, what);
    lc_error err;
    for (int variant = 0; variant < 3; variant++) {
        lc_kernel_opts o;
        lc_kernel_opts_init(&o);
        o.n_threads = variant == 1 ? 3 : 1;
        if (variant == 2) o.force_scalar = true, o.isa = LC_ISA_SCALAR;
        size_t bytes;
        CHECK_OK(lc_moe_workspace(&c.L, n, o.n_threads, &bytes, &err), &err);
        void *ws = lc_malloc_aligned(bytes);
        CHECK_OK(lc_moe_forward(&c.L, n, x, y, ws, bytes, &o, &err), &err);
        CHECK_OK(lc_moe_route(&c.L, n, x, idx, w, ws, bytes, &o, &err), &err);
        lc_free_aligned(ws);
        double scale = 1e-3, worst = 0, wworst = 0;
        bool same = true;
        for (int64_t t = 0; t < n; t++)
            for (int64_t i = 0; i < dim; i++) scale = fmax(scale, fabs(ref[t * dim + i]));
        for (int64_t t = 0; t < n; t++) {
            if (!clear[t]) continue;
            for (int64_t i = 0; i < dim; i++) {
                const double e = fabs(y[t * dim + i] - ref[t * dim + i]);
                if (!(e <= worst)) worst = e;
            }
            for (int32_t s = 0; s < k; s++) {
                same &= idx[t * k + s] == rsel[t * k + s];
                wworst = fmax(wworst, fabs(w[t * k + s] - rw[t * k + s]));
            }
        }
        /* Q8_0, Q4_0 and MXFP4 go through the integer kernels (src/quant/qk_*.c), which
         * quantise the activations to 8 bits per block as llama.cpp does: their error is
         * that rounding's (<= 1/254 of each block's largest activation per term, 1.1e-2
         * (Q4_0) and 1.2e-2 (Q8_0) of the largest output measured here), not f32's. */
        const double tol =
            (wt == LC_DTYPE_Q8_0 || wt == LC_DTYPE_Q4_0 || wt == LC_DTYPE_MXFP4) ? 3e-2 : 1e-4;
        CHECK(worst / scale < tol, "forward vs reference: %.3g (threads=%d scalar=%d) (%s)", worst / scale,
              o.n_threads, o.force_scalar, what);
        CHECK(same && wworst < 1e-5, "routing: same=%d weight error %.3g (%s)", same, wworst, what);
    }
    free(x), free(y), free(ref), free(rsel), free(idx), free(rw), free(w), free(clear);
    case_free(&c);
}

static void check_activation(void) {
    lc_moe_layer L;
    lc_moe_layer_init(&L);
    L.act = LC_MOE_SWIGLU_OAI;
    const float g[6] = {-20.0f, -1.0f, 0.5f, 7.0f, 9.0f, 100.0f}, u[6] = {-9.0f, 0.0f, 2.0f, 7.5f, -8.0f, 3.0f};
    float out[6];
    lc_moe_activate(&L, g, u, out, 6);
    double worst = 0;
    for (int i = 0; i < 6; i++) worst = fmax(worst, fabs(out[i] - act_ref(&L, g[i], u[i])));
    /* by hand: g = 100 clamps to 7, u = 3: 7 * sigmoid(11.914) * 4 */
    const double by_hand = 7.0 / (1.0 + exp(-1.702 * 7.0)) * 4.0;
    CHECK(worst < 1e-5 && fabs(out[5] - by_hand) < 1e-5, "clamped swiglu: %.3g, %g vs %g", worst, out[5], by_hand);
    L.act = LC_MOE_SWIGLU;
    lc_moe_activate(&L, g, u, out, 6);
    worst = 0;
    for (int i = 0; i < 6; i++) worst = fmax(worst, fabs(out[i] - g[i] / (1.0 + exp(-(double)g[i])) * u[i]));
    CHECK(worst < 1e-4, "swiglu: %.3g", worst);
}

static void check_refusals(void) {
    moe_case c;
    case_make(&c, false, 4, 2, 32, 16, 0, LC_DTYPE_F32, 3);
    lc_error err;
    size_t bytes;
    CHECK_OK(lc_moe_workspace(&c.L, 5, 1, &bytes, &err), &err);
    c.L.n_used = 5;
    CHECK(lc_moe_workspace(&c.L, 5, 1, &bytes, &err) == LC_ERR_INVALID_ARG, "k > E accepted");
    c.L.n_used = 2;
    c.L.gate_exps.rows -= 1;
    CHECK(lc_moe_workspace(&c.L, 5, 1, &bytes, &err) == LC_ERR_FORMAT, "wrong gate_exps rows accepted");
    c.L.gate_exps.rows += 1;
    c.L.down_exps.cols = 15;
    CHECK(lc_moe_workspace(&c.L, 5, 1, &bytes, &err) == LC_ERR_FORMAT, "wrong down_exps cols accepted");
    c.L.down_exps.cols = 16;
    CHECK_OK(lc_moe_workspace(&c.L, 5, 1, &bytes, &err), &err);
    float x[5 * 32] = {0}, y[5 * 32];
    void *ws = lc_malloc_aligned(bytes);
    CHECK(lc_moe_forward(&c.L, 5, x, y, ws, bytes - 1, NULL, &err) == LC_ERR_INVALID_ARG, "short workspace accepted");
    CHECK(lc_moe_forward(&c.L, 5, x, x, ws, bytes, NULL, &err) == LC_ERR_INVALID_ARG, "x == y accepted");
    lc_free_aligned(ws);
    case_free(&c);
}

int main(void) {
    const bool quick = lc_test_quick();
    /* gpt-oss fixture shape (E 4, k 2, dim 256, ffn 256) and Qwen3-Next's (E 4, k 2, ffn 128, shared 128) */
    check_case(true, 4, 2, 256, 256, 0, LC_DTYPE_F16, 1, true, 1);
    check_case(true, 4, 2, 256, 256, 0, LC_DTYPE_F16, 37, true, 2);
    check_case(false, 4, 2, 256, 128, 128, LC_DTYPE_F16, 1, true, 3);
    check_case(false, 4, 2, 256, 128, 128, LC_DTYPE_F16, 29, true, 4);
    /* other types, odd widths, unnormalised top-k, more experts */
    check_case(true, 8, 3, 64, 48, 0, LC_DTYPE_F32, 13, true, 5);
    check_case(false, 16, 4, 96, 64, 32, LC_DTYPE_Q8_0, 21, true, 6);
    check_case(false, 8, 1, 32, 17, 0, LC_DTYPE_F32, 9, false, 7);
    check_case(false, 6, 6, 33, 9, 5, LC_DTYPE_F32, 4, true, 8); /* k = E */
    /* gpt-oss's MXFP4 experts, and Q4_0, through lc_matmul's block types */
    check_case(true, 4, 2, 256, 256, 0, LC_DTYPE_MXFP4, 1, true, 11);
    check_case(true, 4, 2, 256, 256, 0, LC_DTYPE_MXFP4, 23, true, 12);
    check_case(false, 8, 2, 64, 96, 64, LC_DTYPE_Q4_0, 17, true, 13);
    /* more than one block of 1024 tokens */
    if (!quick) check_case(false, 8, 2, 32, 16, 16, LC_DTYPE_F16, 1500, true, 9);
    if (!quick) check_case(true, 4, 2, 32, 32, 0, LC_DTYPE_Q8_0, 1100, true, 10);
    check_activation();
    check_refusals();
    return lc_test_finish("test_moe");
}
