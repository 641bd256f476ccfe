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

static void scores_rows_scalar(const float *q, int32_t rows, int32_t d, const float *k, size_t ks, int32_t nk,
                               float *st, int32_t rp) {
    for (int32_t j = 0; j < nk; j++) {
        const float *kj = k + (size_t)j * ks;
        float *s = st + (size_t)j * (size_t)rp;
        for (int32_t r = 0; r < rows; r++) {
            const float *qr = q + (size_t)r * d;
            float acc = 0.0f;
            for (int32_t t = 0; t < d; t++) acc += kj[t] * qr[t];
            s[r] = acc;
        }
        for (int32_t r = rows; r < rp; r++) s[r] = 0.0f;
    }
}

static void scores_rows_f16_scalar(const float *q, int32_t rows, int32_t d, const uint16_t *k, size_t ks, int32_t nk,
                                   float *st, int32_t rp) {
    for (int32_t j = 0; j < nk; j++) {
        const uint16_t *kj = k + (size_t)j * ks;
        float *s = st + (size_t)j * (size_t)rp;
        for (int32_t r = 0; r < rp; r++) s[r] = 0.0f;
        for (int32_t t = 0; t < d; t++) {
            const float a = lc_f16_to_f32(kj[t]);
            for (int32_t r = 0; r < rows; r++) s[r] += a * q[(size_t)r * d + t];
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

static void pv_f16_scalar(const float *st, int32_t rp, int32_t rows, int32_t nk, const uint16_t *v, size_t vs,
                          int32_t dp, const float *alpha, float *o) {
    for (int32_t r = 0; r < rows; r++) {
        float *orow = o + (size_t)r * (size_t)dp;
        for (int32_t t = 0; t < dp; t++) orow[t] *= alpha[r];
    }
    for (int32_t j = 0; j < nk; j++) {
        const uint16_t *vj = v + (size_t)j * vs;
        for (int32_t t = 0; t < dp; t++) {
            const float x = lc_f16_to_f32(vj[t]);
            for (int32_t r = 0; r < rows; r++) o[(size_t)r * dp + t] += st[(size_t)j * rp + r] * x;
        }
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
    .scores_rows = scores_rows_scalar,
    .scores_rows_f16 = scores_rows_f16_scalar,
    .softmax = softmax_scalar,
    .pv = pv_scalar,
    .pv_f16 = pv_f16_scalar,
    .load_rows = load_rows_scalar,
    .exp2_row = exp2_row_scalar,
};

const lc_flash_kernels *lc_flash_kernels_for(lc_isa isa) {
#if defined(LC_HAVE_X86)
    if (isa >= LC_ISA_AVX2) return &lc_flash_kernels_avx2;
#else
    (void)isa;
#endif
    return &lc_flash_kernels_scalar;
}
