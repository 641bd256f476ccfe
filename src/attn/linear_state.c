/*
 * LINEAR attention as a recurrence: the state for decode.
 *
 * Per KV head hk (query heads of a group share it, as they share K and V):
 *   S [F, d] = sum_j phi(k_j) v_j^T,  z [F] = sum_j phi(k_j),  M (FAVOR+
 *   stabiliser: the features held are exp(a - M), see linear_impl.h)
 *
 * step(q, k, v): S, z absorb (k, v) by a rank-1 update (rescaled by
 * exp(M - M') when the key raises M), then out_h = phi(q_h) S / phi(q_h) z. absorb(n, k, v) takes the
 * keys in chunks of LC_LIN_CHUNK with the very operations of the parallel
 * form, so a prefill absorbed here leaves the state the parallel form had.
 * Memory is constant in the sequence length: lc_linear_state_bytes.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attn/linear_impl.h"

struct lc_linear_state {
    int32_t H, H_kv, d, group;
    lc_lin_fmap fm;
    float *S;     /* [H_kv, F, d] */
    float *z;     /* [H_kv, F]    */
    float *M;     /* [H_kv]       */
    float *proj;  /* favor: [d, F] */
    /* scratch */
    float *kt, *hn, *phikt, *P, *zc, *phi; /* phi: [H_q, F] query features */
    void *slab;   /* one allocation behind every array above */
    size_t bytes; /* struct + slab */
};

static bool carve(size_t *off, size_t count, size_t *at) {
    size_t b, end;
    if (!lc_mul_size(count, sizeof(float), &b) || !lc_add_size(b, 63, &b)) return false;
    b &= ~(size_t)63;
    if (!lc_add_size(*off, b, &end)) return false;
    *at = *off;
    *off = end;
    return true;
}

lc_status lc_linear_state_create(int32_t n_head, int32_t n_head_kv, int32_t head_dim, const lc_attn_params *p,
                                 lc_linear_state **out, lc_error *err) {
    if (!out) return lc_fail(err, LC_ERR_INVALID_ARG, "linear state: NULL out");
    *out = NULL;
    if (!p) return lc_fail(err, LC_ERR_INVALID_ARG, "linear state: NULL params");
    if (p->method != LC_ATTN_LINEAR)
        return lc_fail(err, LC_ERR_INVALID_ARG, "linear state: params are for method '%s', not 'linear'",
                       lc_attn_method_name(p->method));
    /* Reuse the attention validation for heads, dim and the linear params. */
    lc_attn_shape s;
    memset(&s, 0, sizeof s);
    s.n_head = n_head;
    s.n_head_kv = n_head_kv;
    s.head_dim = head_dim;
    s.k_type = s.v_type = LC_DTYPE_F32;
    s.causal = true;
    lc_status st = lc_attn_validate(&s, p, err);
    if (st != LC_OK) return st;

    const int32_t F = lc_lin_feature_count(p->feature, head_dim, p->n_features);
    const bool favor = p->feature == LC_FEATURE_FAVOR;
    const size_t d = (size_t)head_dim, Fz = (size_t)F, hkv = (size_t)n_head_kv;
    size_t o = 0, o_S, o_z, o_M, o_proj, o_kt, o_hn, o_phikt, o_P, o_zc, o_phi, sd;
    bool ok = lc_mul3_size(hkv, Fz, d, &sd) && carve(&o, sd, &o_S) && carve(&o, hkv * Fz, &o_z) &&
              carve(&o, hkv, &o_M) && carve(&o, favor ? d * Fz : 0, &o_proj) &&
              carve(&o, favor ? d * LC_LIN_CHUNK : 0, &o_kt) && carve(&o, LC_LIN_CHUNK, &o_hn) &&
              carve(&o, Fz * LC_LIN_CHUNK, &o_phikt) && carve(&o, Fz * d, &o_P) && carve(&o, Fz, &o_zc) &&
              carve(&o, (size_t)n_head * Fz, &o_phi);
    if (!ok)
        return lc_fail(err, LC_ERR_TOO_LARGE, "linear state: %d KV heads x %d features x d=%d overflows", n_head_kv, F,
                       head_dim);
    size_t gs_bytes = favor ? d * d * sizeof(double) : 0;
    size_t avail = lc_mem_available_bytes();
    if (avail && o + gs_bytes > avail) {
        char need[32], have[32];
        return lc_fail(err, LC_ERR_TOO_LARGE, "linear state needs %s but only %s is available",
                       lc_format_bytes((double)(o + gs_bytes), need, sizeof need),
                       lc_format_bytes((double)avail, have, sizeof have));
    }
    lc_linear_state *stt = calloc(1, sizeof *stt);
    char *slab = lc_malloc_aligned(o);
    double *gs = favor ? malloc(gs_bytes) : NULL;
    if (!stt || !slab || (favor && !gs)) {
        free(stt);
        lc_free_aligned(slab);
        free(gs);
        return lc_fail(err, LC_ERR_NOMEM, "linear state: cannot allocate %zu bytes", o);
    }
    stt->H = n_head;
    stt->H_kv = n_head_kv;
    stt->d = head_dim;
    stt->group = n_head / n_head_kv;
    stt->slab = slab;
    stt->bytes = sizeof *stt + o;
    stt->S = (float *)(slab + o_S);
    stt->z = (float *)(slab + o_z);
    stt->M = (float *)(slab + o_M);
    stt->proj = favor ? (float *)(slab + o_proj) : NULL;
    stt->kt = (float *)(slab + o_kt);
    stt->hn = (float *)(slab + o_hn);
    stt->phikt = (float *)(slab + o_phikt);
    stt->P = (float *)(slab + o_P);
    stt->zc = (float *)(slab + o_zc);
    stt->phi = (float *)(slab + o_phi);
    stt->fm.feature = p->feature;
    stt->fm.d = head_dim;
    stt->fm.F = F;
    stt->fm.proj = stt->proj;
    stt->fm.isa = p->force_scalar ? LC_ISA_SCALAR : lc_isa_best();
    if (favor) {
        const float scale = 1.0f / sqrtf(sqrtf((float)head_dim));
        for (int32_t b = 0; b < lc_lin_favor_blocks(head_dim, F); b++)
            lc_lin_favor_block(head_dim, F, p->seed, b, gs, stt->proj, Fz, scale);
        free(gs);
    }
    lc_linear_state_reset(stt);
    *out = stt;
    return LC_OK;
}

void lc_linear_state_free(lc_linear_state *st) {
    if (!st) return;
    lc_free_aligned(st->slab);
    free(st);
}

void lc_linear_state_reset(lc_linear_state *st) {
    if (!st) return;
    const size_t F = (size_t)st->fm.F, d = (size_t)st->d, hkv = (size_t)st->H_kv;
    memset(st->S, 0, hkv * F * d * sizeof(float));
    memset(st->z, 0, hkv * F * sizeof(float));
    const float m0 = st->fm.feature == LC_FEATURE_FAVOR ? -INFINITY : 0.0f;
    for (size_t h = 0; h < hkv; h++) st->M[h] = m0;
}

size_t lc_linear_state_bytes(const lc_linear_state *st) { return st ? st->bytes : 0; }

/* Fold n (<= LC_LIN_CHUNK) keys of KV head hk, rows of stride ld, into its
 * state, with the operations of the parallel form's chunk. */
static void absorb_chunk(lc_linear_state *st, int32_t hk, const float *k, const float *v, size_t ld, int64_t n) {
    const int32_t d = st->d, F = st->fm.F;
    const lc_isa isa = st->fm.isa;
    float *S = st->S + (size_t)hk * F * d, *z = st->z + (size_t)hk * F;
    const float mc = lc_lin_key_features(&st->fm, k, ld, n, st->phikt, LC_LIN_CHUNK, st->kt, st->hn);
    lc_lin_gemm(isa, F, d, n, st->phikt, LC_LIN_CHUNK, 1, v, ld, st->P, (size_t)d, false);
    for (int32_t f = 0; f < F; f++) st->zc[f] = lc_lin_sum(isa, st->phikt + (size_t)f * LC_LIN_CHUNK, n);
    float beta = 1.0f, alpha = 1.0f;
    if (st->fm.feature == LC_FEATURE_FAVOR) {
        const float M = st->M[hk], Mn = mc > M ? mc : M;
        beta = lc_lin_factor(M, Mn);
        alpha = lc_lin_factor(mc, Mn);
        st->M[hk] = Mn;
    }
    for (int32_t f = 0; f < F; f++) lc_lin_axpby(isa, S + (size_t)f * d, st->P + (size_t)f * d, d, beta, alpha);
    lc_lin_axpby(isa, z, st->zc, F, beta, alpha);
}

lc_status lc_linear_state_absorb(lc_linear_state *st, int64_t n, const float *k, const float *v, lc_error *err) {
    if (!st) return lc_fail(err, LC_ERR_INVALID_ARG, "linear state: NULL state");
    if (n < 0) return lc_fail(err, LC_ERR_INVALID_ARG, "linear state: negative key count %lld", (long long)n);
    if (n > 0 && (!k || !v)) return lc_fail(err, LC_ERR_INVALID_ARG, "linear state: NULL keys or values");
    const size_t ld = (size_t)st->H_kv * st->d;
    for (int64_t j0 = 0; j0 < n; j0 += LC_LIN_CHUNK) {
        const int64_t nc = LC_MIN((int64_t)LC_LIN_CHUNK, n - j0);
        for (int32_t hk = 0; hk < st->H_kv; hk++)
            absorb_chunk(st, hk, k + (size_t)j0 * ld + (size_t)hk * st->d, v + (size_t)j0 * ld + (size_t)hk * st->d,
                         ld, nc);
    }
    return LC_OK;
}

/* Features of one key k [d] into phi [F]; returns the stabiliser (favor: the
 * max of a = W k' - |k'|^2 / 2, phi = exp(a - max)). Same formulas as
 * lc_lin_key_features, as one row of F instead of F rows of one. */
static float key_features_one(const lc_lin_fmap *fm, const float *k, float *phi) {
    const int32_t d = fm->d, F = fm->F;
    const lc_isa isa = fm->isa;
    if (fm->feature == LC_FEATURE_ELU1) {
        lc_lin_elu1(isa, k, phi, d);
        return 0.0f;
    }
    if (fm->feature == LC_FEATURE_RELU) {
        lc_lin_relu(isa, k, phi, d);
        return 0.0f;
    }
    lc_lin_gemm(isa, 1, F, d, k, (size_t)d, 1, fm->proj, (size_t)F, phi, (size_t)F, false);
    lc_lin_add_scalar(isa, phi, F, -lc_lin_dot(isa, k, k, d) * (0.5f / sqrtf((float)d)));
    float mx = lc_lin_max(isa, phi, F);
    if (!(mx > -INFINITY)) mx = 0.0f;
    lc_lin_add_scalar(isa, phi, F, -mx);
    lc_lin_exp(isa, phi, F);
    return mx;
}

/* One key/value of KV head hk into its state: a rank-1 update
 * S_r = beta S_r + (alpha phi_r) v, z = beta z + alpha phi. */
static void absorb_one(lc_linear_state *st, int32_t hk, const float *k, const float *v) {
    const int32_t d = st->d, F = st->fm.F;
    const lc_isa isa = st->fm.isa;
    float *S = st->S + (size_t)hk * F * d, *z = st->z + (size_t)hk * F, *phi = st->zc;
    const float mk = key_features_one(&st->fm, k, phi);
    float beta = 1.0f, alpha = 1.0f;
    if (st->fm.feature == LC_FEATURE_FAVOR) {
        const float M = st->M[hk], Mn = mk > M ? mk : M;
        beta = lc_lin_factor(M, Mn);
        alpha = lc_lin_factor(mk, Mn);
        st->M[hk] = Mn;
    }
    for (int32_t f = 0; f < F; f++) {
        const float c = alpha * phi[f];
        if (c != 0.0f || beta != 1.0f) lc_lin_axpby(isa, S + (size_t)f * d, v, d, beta, c);
    }
    lc_lin_axpby(isa, z, phi, F, beta, alpha);
}

lc_status lc_linear_state_step(lc_linear_state *st, const float *q, const float *k, const float *v, float *out,
                               lc_error *err) {
    if (!st || !q || !k || !v || !out) return lc_fail(err, LC_ERR_INVALID_ARG, "linear state step: NULL argument");
    const int32_t d = st->d, F = st->fm.F;
    const lc_isa isa = st->fm.isa;
    for (int32_t hk = 0; hk < st->H_kv; hk++) absorb_one(st, hk, k + (size_t)hk * d, v + (size_t)hk * d);
    /* every query head's features at once, then one product per KV group */
    lc_lin_query_features(&st->fm, q, (size_t)d, st->H, st->phi);
    for (int32_t hk = 0; hk < st->H_kv; hk++) {
        const float *S = st->S + (size_t)hk * F * d, *z = st->z + (size_t)hk * F;
        const float *phi = st->phi + (size_t)hk * st->group * F;
        float *o = out + (size_t)hk * st->group * d;
        lc_lin_gemm(isa, st->group, d, F, phi, (size_t)F, 1, S, (size_t)d, o, (size_t)d, false);
        for (int32_t g = 0; g < st->group; g++) {
            float *og = o + (size_t)g * d;
            const float den = lc_lin_dot(isa, phi + (size_t)g * F, z, F);
            if (den >= FLT_MIN) {
                lc_lin_scale(isa, og, d, 1.0f / den);
            } else if (den > 0.0f) {
                for (int32_t t = 0; t < d; t++) og[t] /= den;
            } else {
                memset(og, 0, (size_t)d * sizeof(float));
            }
        }
    }
    return LC_OK;
}
