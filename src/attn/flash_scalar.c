/*
 * Portable tile kernels of the FLASH engine (see flash_engine.h for the
 * layouts). Plain loops the compiler may vectorise for the baseline target;
 * the AVX2/FMA versions are in flash_avx2.c.
 */
#include <math.h>
#include <string.h>

#include "attn/flash_engine.h"

static void scores_scalar(const float *qt, int32_t rp, int32_t d, const float *k, size_t ks, int32_t nk, float *st) {
    for (int32_t j = 0; j < nk; j++) {
        const float *kj = k + (size_t)j * ks;
        float *s = st + (size_t)j * (size_t)rp;
        for (int32_t r = 0; r < rp; r++) s[r] = 0.0f;
        for (int32_t t = 0; t < d; t++) {
            const float a = kj[t];
            const float *q = qt + (size_t)t * (size_t)rp;
            for (int32_t r = 0; r < rp; r++) s[r] += a * q[r];
        }
    }
}

static void softmax_scalar(float *st, int32_t nk, int32_t rp, float *m, float *l, float *alpha) {
    for (int32_t r = 0; r < rp; r++) {
        float mx = m[r];
        for (int32_t j = 0; j < nk; j++) mx = fmaxf(mx, st[(size_t)j * rp + r]);
        /* A row that has seen nothing yet subtracts 0: 2^-inf = 0, no NaN. */
        const float sub = mx == -INFINITY ? 0.0f : mx;
        const float a = exp2f(m[r] - sub);
        float sum = 0.0f;
        for (int32_t j = 0; j < nk; j++) {
            float *s = &st[(size_t)j * rp + r];
            *s = exp2f(*s - sub);
            sum += *s;
        }
        alpha[r] = a;
        l[r] = l[r] * a + sum;
        m[r] = mx;
    }
}

static void pv_scalar(const float *st, int32_t rp, int32_t rows, int32_t nk, const float *v, size_t vs, int32_t dp,
                      const float *alpha, float *o) {
    for (int32_t r = 0; r < rows; r++) {
        float *orow = o + (size_t)r * (size_t)dp;
        const float a = alpha[r];
        for (int32_t t = 0; t < dp; t++) orow[t] *= a;
        for (int32_t j = 0; j < nk; j++) {
            const float p = st[(size_t)j * rp + r];
            if (p == 0.0f) continue;
            const float *vj = v + (size_t)j * vs;
            for (int32_t t = 0; t < dp; t++) orow[t] += p * vj[t];
        }
    }
}

/* ---- decode tiles: scores row-major, s[r][j] (the grouped-decode reference) ---- */

static float kv_elem(lc_dtype t, const void *base, size_t i) {
    return t == LC_DTYPE_F16 ? lc_f16_to_f32(((const uint16_t *)base)[i]) : ((const float *)base)[i];
}

static void dec_scores_scalar(const float *q, int32_t rows, int32_t d, lc_dtype kt, const void *k, size_t ks,
                              int32_t nk, float *s, size_t ss) {
    for (int32_t j = 0; j < nk; j++)
        for (int32_t r = 0; r < rows; r++) {
            float acc = 0.0f;
            for (int32_t t = 0; t < d; t++) acc += kv_elem(kt, k, (size_t)j * ks + (size_t)t) * q[(size_t)r * d + t];
            s[(size_t)r * ss + (size_t)j] = acc;
        }
}

static void dec_softmax_scalar(float *s, size_t ss, int32_t rows, int32_t nk, float *m, float *l, float *alpha) {
    for (int32_t r = 0; r < rows; r++) {
        float *row = s + (size_t)r * ss;
        float mx = m[r];
        for (int32_t j = 0; j < nk; j++) mx = fmaxf(mx, row[j]);
        const float sub = mx == -INFINITY ? 0.0f : mx; /* seen nothing: 2^-inf = 0, no NaN */
        const float a = exp2f(m[r] - sub);
        float sum = 0.0f;
        for (int32_t j = 0; j < nk; j++) {
            row[j] = exp2f(row[j] - sub);
            sum += row[j];
        }
        alpha[r] = a;
        l[r] = l[r] * a + sum;
        m[r] = mx;
    }
}

static void dec_pv_scalar(const float *s, size_t ss, int32_t rows, int32_t nk, lc_dtype vt, const void *v, size_t vs,
                          int32_t dp, const float *alpha, float *o) {
    for (int32_t r = 0; r < rows; r++) {
        float *orow = o + (size_t)r * (size_t)dp;
        for (int32_t t = 0; t < dp; t++) orow[t] *= alpha[r];
    }
    for (int32_t j = 0; j < nk; j++)
        for (int32_t t = 0; t < dp; t++) {
            const float x = kv_elem(vt, v, (size_t)j * vs + (size_t)t);
            for (int32_t r = 0; r < rows; r++) o[(size_t)r * dp + t] += s[(size_t)r * ss + (size_t)j] * x;
        }
}

static void load_rows_scalar(lc_dtype t, const void *src, size_t src_stride, int32_t n, int32_t d, float *dst,
                             size_t dst_stride, int32_t dst_pad) {
    for (int32_t j = 0; j < n; j++) {
        float *row = dst + (size_t)j * dst_stride;
        lc_attn_load_row(t, (const char *)src + (size_t)j * src_stride, row, d);
        for (int32_t i = d; i < dst_pad; i++) row[i] = 0.0f;
    }
}

static void exp2_row_scalar(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] < -126.0f ? 0.0f : exp2f(x[i]);
}

const lc_flash_kernels lc_flash_kernels_scalar = {
    .scores = scores_scalar,
    .softmax = softmax_scalar,
    .pv = pv_scalar,
    .dec_scores = dec_scores_scalar,
    .dec_softmax = dec_softmax_scalar,
    .dec_pv = dec_pv_scalar,
    .load_rows = load_rows_scalar,
    .exp2_row = exp2_row_scalar,
};

const lc_flash_kernels *lc_flash_kernels_for(lc_isa isa) {
#if defined(LC_HAVE_AVX512)
    if (isa >= LC_ISA_AVX512) return &lc_flash_kernels_avx512;
#endif
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) return &lc_flash_kernels_avx2;
#else
    (void)isa;
#endif
    return &lc_flash_kernels_scalar;
}
