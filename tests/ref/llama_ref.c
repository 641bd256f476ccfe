/* The reference forward pass (see llama_ref.h). Deliberately simple. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ref/llama_ref.h"

/* IEEE binary16 -> double, from the bit fields. */
static double ref_half(uint16_t h) {
    int sign = (h >> 15) & 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0) v = ldexp((double)m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp((double)(m | 0x400), e - 25);
    return sign ? -v : v;
}

static double ref_bf16(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

double ref_tensor_get(const lc_tensor *t, int64_t r, int64_t col) {
    const unsigned char *base = (const unsigned char *)t->data;
    switch (t->type) {
    case LC_DTYPE_F32: {
        float f;
        memcpy(&f, base + ((size_t)r * (size_t)t->cols + (size_t)col) * 4, 4);
        return f;
    }
    case LC_DTYPE_F16: {
        uint16_t h;
        memcpy(&h, base + ((size_t)r * (size_t)t->cols + (size_t)col) * 2, 2);
        return ref_half(h);
    }
    case LC_DTYPE_BF16: {
        uint16_t h;
        memcpy(&h, base + ((size_t)r * (size_t)t->cols + (size_t)col) * 2, 2);
        return ref_bf16(h);
    }
    case LC_DTYPE_Q8_0: {
        /* blocks of 34 bytes: f16 scale, 32 int8 */
        size_t blocks_per_row = (size_t)t->cols / 32;
        const unsigned char *b = base + ((size_t)r * blocks_per_row + (size_t)col / 32) * 34;
        uint16_t d;
        memcpy(&d, b, 2);
        int8_t q = (int8_t)b[2 + col % 32];
        return ref_half(d) * (double)q;
    }
    default: return NAN;
    }
}

/* A value rounded to binary16 (11 significant bits, to nearest even;
 * normal range, which activation scales are in). */
static double ref_round_half(double v) {
    if (v == 0.0 || !isfinite(v)) return v;
    int e;
    double m = frexp(v, &e); /* v = m 2^e, 0.5 <= |m| < 1 */
    return ldexp(nearbyint(ldexp(m, 11)), e - 11);
}

/* x rounded as the runtime's products with Q8_0 weights round it (as
 * llama.cpp does): per block of 32, q = x 127 / amax rounded half to even,
 * value = f16(amax / 127) q. */
static void ref_round_acts_q8_0(const double *x, double *out, int64_t n) {
    for (int64_t b = 0; b + 32 <= n; b += 32) {
        double amax = 0.0;
        for (int64_t i = b; i < b + 32; i++) amax = fmax(amax, fabs(x[i]));
        const double d = ref_round_half(amax / 127.0);
        for (int64_t i = b; i < b + 32; i++) {
            double q = amax > 0.0 ? nearbyint(x[i] * 127.0 / amax) : 0.0;
            out[i] = d * fmin(127.0, fmax(-127.0, q));
        }
    }
}

/* y[rows] = W x (x rounded to 8-bit blocks first for Q8_0 weights: the
 * runtime's integer kernels do) */
static void ref_matvec(const lc_tensor *w, const double *x, double *y) {
    double *xr = NULL;
    if (w->type == LC_DTYPE_Q8_0 && (xr = malloc((size_t)w->cols * sizeof(double))) != NULL) {
        ref_round_acts_q8_0(x, xr, w->cols);
        x = xr;
    }
    for (int64_t r = 0; r < w->rows; r++) {
        double s = 0.0;
        for (int64_t c = 0; c < w->cols; c++) s += ref_tensor_get(w, r, c) * x[c];
        y[r] = s;
    }
    free(xr);
}

static void ref_rmsnorm(const double *x, const lc_tensor *w, int64_t n, double eps, double *out) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
    double inv = 1.0 / sqrt(ss / (double)n + eps);
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * inv * ref_tensor_get(w, i / w->cols, i % w->cols);
}

/* Rotate one head vector in place for position pos. */
static void ref_rope(const lc_rope_config *rc, double *x, int32_t head_dim, int64_t pos) {
    const int32_t nd = rc->n_dims;
    for (int32_t i = 0; i < nd / 2; i++) {
        double theta = pow((double)rc->freq_base, -2.0 * i / (double)nd);
        if (rc->scaling == LC_ROPE_SCALING_LINEAR) theta /= (double)rc->factor;
        double a = (double)pos * theta, cs = cos(a), sn = sin(a);
        int32_t i0 = rc->layout == LC_ROPE_NEOX ? i : 2 * i;
        int32_t i1 = rc->layout == LC_ROPE_NEOX ? i + nd / 2 : 2 * i + 1;
        double x0 = x[i0], x1 = x[i1];
        x[i0] = x0 * cs - x1 * sn;
        x[i1] = x0 * sn + x1 * cs;
    }
    (void)head_dim;
}

static double ref_elu1(double x) { return x > 0 ? x + 1.0 : exp(x); }

int ref_llama_forward(const lc_model_config *c, const lc_model_weights *w, const int32_t *tokens, int64_t n,
                      double *logits) {
    return ref_llama_forward_ex(c, w, tokens, n, NULL, logits);
}

int ref_llama_forward_ex(const lc_model_config *c, const lc_model_weights *w, const int32_t *tokens, int64_t n,
                         const ref_attn *attn, double *logits) {
    const ref_attn full = {REF_ATTN_SOFTMAX, 0, 0};
    if (!attn) attn = &full;
    if (c->rope.scaling != LC_ROPE_SCALING_NONE && c->rope.scaling != LC_ROPE_SCALING_LINEAR) return -1;
    const int64_t D = c->dim, F = c->hidden_dim, H = c->n_heads, Hk = c->n_kv_heads, hd = c->head_dim;
    const int64_t qd = H * hd, kd = Hk * hd, V = c->vocab_size;
    double *x = calloc((size_t)(n * D), 8), *xb = calloc((size_t)D, 8), *q = calloc((size_t)(n * qd), 8);
    double *k = calloc((size_t)(n * kd), 8), *v = calloc((size_t)(n * kd), 8), *att = calloc((size_t)qd, 8);
    double *o = calloc((size_t)D, 8), *g = calloc((size_t)F, 8), *u = calloc((size_t)F, 8);
    double *p = calloc((size_t)n, 8);
    int rc = -1;
    if (!x || !xb || !q || !k || !v || !att || !o || !g || !u || !p) goto done;
    for (int64_t t = 0; t < n; t++)
        for (int64_t i = 0; i < D; i++) x[t * D + i] = ref_tensor_get(&w->tok_embd, tokens[t], i);
    for (int32_t l = 0; l < c->n_layers; l++) {
        const lc_layer_weights *L = &w->layers[l];
        for (int64_t t = 0; t < n; t++) {
            ref_rmsnorm(x + t * D, &L->attn_norm, D, c->norm_eps, xb);
            ref_matvec(&L->wq, xb, q + t * qd);
            ref_matvec(&L->wk, xb, k + t * kd);
            ref_matvec(&L->wv, xb, v + t * kd);
            for (int64_t h = 0; h < H; h++) ref_rope(&c->rope, q + t * qd + h * hd, (int32_t)hd, t);
            for (int64_t h = 0; h < Hk; h++) ref_rope(&c->rope, k + t * kd + h * hd, (int32_t)hd, t);
        }
        for (int64_t t = 0; t < n; t++) {
            for (int64_t h = 0; h < H; h++) {
                int64_t hk = h / (H / Hk);
                if (attn->kind == REF_ATTN_LINEAR_ELU) {
                    /* out = sum_j (phi(q).phi(k_j)) v_j / sum_j phi(q).phi(k_j) */
                    double den = 0.0;
                    for (int64_t j = 0; j <= t; j++) {
                        double s = 0.0;
                        for (int64_t d = 0; d < hd; d++)
                            s += ref_elu1(q[t * qd + h * hd + d]) * ref_elu1(k[j * kd + hk * hd + d]);
                        p[j] = s;
                        den += s;
                    }
                    for (int64_t d = 0; d < hd; d++) {
                        double a = 0.0;
                        for (int64_t j = 0; j <= t; j++) a += p[j] * v[j * kd + hk * hd + d];
                        att[h * hd + d] = a / den;
                    }
                    continue;
                }
                /* causal softmax attention, materialised per (query, head) row */
                double mx = -INFINITY, sum = 0.0;
                for (int64_t j = 0; j <= t; j++) {
                    bool vis = attn->window <= 0 || t - j < attn->window || j < attn->sinks;
                    double s = 0.0;
                    for (int64_t d = 0; d < hd; d++) s += q[t * qd + h * hd + d] * k[j * kd + hk * hd + d];
                    p[j] = vis ? s / sqrt((double)hd) : -INFINITY;
                    if (p[j] > mx) mx = p[j];
                }
                for (int64_t j = 0; j <= t; j++) sum += (p[j] = exp(p[j] - mx));
                for (int64_t d = 0; d < hd; d++) {
                    double a = 0.0;
                    for (int64_t j = 0; j <= t; j++) a += p[j] / sum * v[j * kd + hk * hd + d];
                    att[h * hd + d] = a;
                }
            }
            ref_matvec(&L->wo, att, o);
            for (int64_t i = 0; i < D; i++) x[t * D + i] += o[i];
            ref_rmsnorm(x + t * D, &L->ffn_norm, D, c->norm_eps, xb);
            ref_matvec(&L->w_gate, xb, g);
            ref_matvec(&L->w_up, xb, u);
            for (int64_t i = 0; i < F; i++) g[i] = g[i] / (1.0 + exp(-g[i])) * u[i];
            ref_matvec(&L->w_down, g, o);
            for (int64_t i = 0; i < D; i++) x[t * D + i] += o[i];
        }
    }
    for (int64_t t = 0; t < n; t++) {
        ref_rmsnorm(x + t * D, &w->output_norm, D, c->norm_eps, xb);
        ref_matvec(&w->output, xb, logits + t * V);
    }
    rc = 0;
done:
    free(x), free(xb), free(q), free(k), free(v), free(att), free(o), free(g), free(u), free(p);
    return rc;
}
