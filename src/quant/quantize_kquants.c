/*
 * Reference quantization of Q4_K, Q5_K and Q6_K, following ggml's reference
 * quantizers (quantize_row_q{4,5,6}_K_ref, no importance matrix):
 *
 * Q4_K / Q5_K: each sub-block of 32 gets a scale s and a min m fitted by
 *   weighted least squares (weights av + |x|, av = rms of the sub-block):
 *   start from the grid q = round((x - min) * nmax / (max - min)), then try
 *   nstep + 1 slightly different grid spacings (nmax + rmin + k * rdelta) /
 *   (max - min) and keep the (s, m) of least weighted squared error. The 8
 *   scales and 8 mins are then quantized to 6 bits against the largest of
 *   each (d = max_s / 63, dmin = max_m / 63) and the values re-quantized with
 *   the rounded scales. nmax 15 (rmin -1, 20 steps) for Q4_K, 31 (rmin -0.5,
 *   15 steps) for Q5_K.
 * Q6_K: each sub-block of 16 gets a signed scale from a search of 19 grid
 *   spacings (nmax 32 +- 0.9 in steps of 0.1) maximising sum(x l)^2 / sum(l^2)
 *   with weights x^2; the 16 scales are quantized to int8 against the one of
 *   largest magnitude (d = -max / 128) and the values re-quantized.
 *
 * Rounding: ties to even, as ggml's nearest_int does. The float expressions
 * keep ggml's order of operations, so the bytes match ggml's
 * (tests/test_quant_dequant.c compares them with the oracle's tensors).
 */
#include <math.h>
#include <string.h>

#include "quant/quant.h"

#define GROUP_MAX_EPS 1e-15f

static int nearest_even(float v) { return (int)lrintf(v); }
static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Scale and min (returned as -min in *neg_min) of n values on the grid
 * 0..nmax, least-squares with weights w; L receives the levels. */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L, float *neg_min,
                           uint8_t *Laux, float rmin, float rdelta, int nstep) {
    float mn = x[0], mx = x[0], sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < mn) mn = x[i];
        if (x[i] > mx) mx = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (mn > 0) mn = 0;
    if (mx == mn) {
        memset(L, 0, (size_t)n);
        *neg_min = -mn;
        return 0.0f;
    }
    float iscale = (float)nmax / (mx - mn), scale = 1.0f / iscale, best_error = 0.0f;
    for (int i = 0; i < n; i++) {
        int l = clampi(nearest_even(iscale * (x[i] - mn)), 0, nmax);
        L[i] = (uint8_t)l;
        float diff = scale * (float)L[i] + mn - x[i];
        best_error += w[i] * (diff * diff);
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (mx - mn);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(nearest_even(iscale * (x[i] - mn)), 0, nmax);
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)l * (float)l;
            sum_xl += w[i] * (float)l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * (float)Laux[i] + this_min - x[i];
                cur_error += w[i] * (diff * diff);
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                mn = this_min;
            }
        }
    }
    *neg_min = -mn;
    return scale;
}

/* The 6-bit scales and mins of 8 sub-blocks packed into 12 bytes (the
 * inverse of lc_quant_k4_scale_min). */
static void pack_k4_scales(const int ls[8], const int lm[8], uint8_t s[12]) {
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            s[j] = (uint8_t)ls[j];
            s[j + 4] = (uint8_t)lm[j];
        } else {
            s[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            s[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

/* Q4_K and Q5_K share everything but the grid and the packing of levels:
 * fill d, dmin, the 12 scale bytes and L[256] (levels 0..nmax). */
static void k4_fit_block(const float *x, int nmax, float rmin, int nstep, uint16_t *d_out, uint16_t *dmin_out,
                         uint8_t scales_out[12], uint8_t L[LC_QK_K]) {
    float mins[8], scales[8], weights[32];
    uint8_t Laux[32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(xs[l]);
        scales[j] = fit_scale_min(32, nmax, xs, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    int ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        ls[j] = nearest_even(inv_scale * scales[j]);
        lm[j] = nearest_even(inv_min * mins[j]);
        ls[j] = ls[j] < 63 ? ls[j] : 63;
        lm[j] = lm[j] < 63 ? lm[j] : 63;
    }
    memset(scales_out, 0, 12);
    pack_k4_scales(ls, lm, scales_out);
    *d_out = lc_f32_to_f16(max_scale / 63.f);
    *dmin_out = lc_f32_to_f16(max_min / 63.f);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        lc_quant_k4_scale_min(j, scales_out, &sc, &m);
        const float d = lc_f16_to_f32(*d_out) * (float)sc;
        if (d == 0.0f) continue;
        const float dm = lc_f16_to_f32(*dmin_out) * (float)m;
        for (int ii = 0; ii < 32; ii++) L[32 * j + ii] = (uint8_t)clampi(nearest_even((x[32 * j + ii] + dm) / d), 0, nmax);
    }
}

void lc_quantize_q4_K(const float *src, void *dst, int64_t n) {
    lc_blk_q4_K *y = (lc_blk_q4_K *)dst;
    uint8_t L[LC_QK_K];
    for (int64_t i = 0; i < n / LC_QK_K; i++, y++, src += LC_QK_K) {
        k4_fit_block(src, 15, -1.0f, 20, &y->d, &y->dmin, y->scales, L);
        uint8_t *q = y->qs;
        for (int j = 0; j < LC_QK_K; j += 64, q += 32)
            for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

void lc_quantize_q5_K(const float *src, void *dst, int64_t n) {
    lc_blk_q5_K *y = (lc_blk_q5_K *)dst;
    uint8_t L[LC_QK_K];
    for (int64_t i = 0; i < n / LC_QK_K; i++, y++, src += LC_QK_K) {
        k4_fit_block(src, 31, -0.5f, 15, &y->d, &y->dmin, y->scales, L);
        memset(y->qh, 0, sizeof y->qh);
        uint8_t *ql = y->qs, m1 = 1, m2 = 2;
        for (int j = 0; j < LC_QK_K; j += 64, ql += 32, m1 = (uint8_t)(m1 << 2), m2 = (uint8_t)(m2 << 2)) {
            for (int l = 0; l < 32; l++) {
                int l1 = L[j + l], l2 = L[j + l + 32];
                if (l1 > 15) l1 -= 16, y->qh[l] |= m1;
                if (l2 > 15) l2 -= 16, y->qh[l] |= m2;
                ql[l] = (uint8_t)(l1 | (l2 << 4));
            }
        }
    }
}

/* Signed scale of n values on the grid -nmax..nmax-1 (levels stored + nmax
 * in L), weights x^2, with ggml's search over 19 grid spacings. */
static float fit_scale_signed(int n, int nmax, const float *x, int8_t *L) {
    float mx = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            mx = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = -(float)nmax / mx, sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clampi(nearest_even(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / mx;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(nearest_even(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + clampi(nearest_even(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

void lc_quantize_q6_K(const float *src, void *dst, int64_t n) {
    lc_blk_q6_K *y = (lc_blk_q6_K *)dst;
    int8_t L[LC_QK_K];
    float scales[LC_QK_K / 16];
    for (int64_t i = 0; i < n / LC_QK_K; i++, y++, src += LC_QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < LC_QK_K / 16; ib++) {
            const float scale = fit_scale_signed(16, 32, src + 16 * ib, L + 16 * ib);
            scales[ib] = scale;
            if (fabsf(scale) > max_abs_scale) {
                max_abs_scale = fabsf(scale);
                max_scale = scale;
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(y, 0, sizeof *y);
            y->d = lc_f32_to_f16(0.0f);
            continue;
        }
        const float iscale = -128.f / max_scale;
        y->d = lc_f32_to_f16(1 / iscale);
        for (int ib = 0; ib < LC_QK_K / 16; ib++) {
            int v = nearest_even(iscale * scales[ib]);
            y->scales[ib] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < LC_QK_K / 16; j++) {
            const float d = lc_f16_to_f32(y->d) * (float)y->scales[j];
            if (d == 0.0f) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (int8_t)(clampi(nearest_even(src[16 * j + ii] / d), -32, 31) + 32);
        }
        uint8_t *ql = y->ql, *qh = y->qh;
        for (int j = 0; j < LC_QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const int q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF, q3 = L[j + l + 64] & 0xF,
                          q4 = L[j + l + 96] & 0xF;
                ql[l] = (uint8_t)(q1 | (q3 << 4));
                ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
                qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                  ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}
