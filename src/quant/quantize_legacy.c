/*
 * Reference quantization of the 32-element "legacy" types, with ggml's
 * reference formulas (no importance matrix):
 *
 *   Q8_0  d = max|x| / 127, q = round(x / d)              (lc_quantize_row_q8_0)
 *   Q4_0  m = the x of largest |x|, d = m / -8, q = min(15, trunc(x / d + 8.5))
 *         (so m itself maps to q = 0, x = -8 d = m)
 */
#include <math.h>

#include "quant/quant.h"

void lc_quantize_q8_0(const float *src, void *dst, int64_t n) { lc_quantize_row_q8_0(src, (lc_block_q8_0 *)dst, n); }

void lc_quantize_q4_0(const float *src, void *dst, int64_t n) {
    lc_blk_q4_0 *y = (lc_blk_q4_0 *)dst;
    for (int64_t i = 0; i < n / LC_QK32; i++, y++, src += LC_QK32) {
        float amax = 0.0f, mx = 0.0f;
        for (int j = 0; j < LC_QK32; j++) {
            if (amax < fabsf(src[j])) {
                amax = fabsf(src[j]);
                mx = src[j];
            }
        }
        const float d = mx / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y->d = lc_f32_to_f16(d);
        for (int j = 0; j < 16; j++) {
            /* + 8.5 then truncation: rounds to nearest; values are >= 0 */
            int q0 = (int)(int8_t)(src[j] * id + 8.5f), q1 = (int)(int8_t)(src[j + 16] * id + 8.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            y->qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

/*   Q4_1  d = (max - min) / 15, m = min, q = min(15, trunc((x - min) / d + 0.5))
 *   Q5_0  as Q4_0 with 5 bits: d = m / -16, q = min(31, trunc(x / d + 16.5))
 *   Q5_1  as Q4_1 with 5 bits: d = (max - min) / 31, q = trunc((x - min) / d + 0.5)
 * (longctx writes these only as llama.cpp's fallbacks for rows that are not
 * a whole number of 256-blocks: Q4_K -> Q5_0, Q5_K -> Q5_1.) */

static void min_max(const float *x, float *mn, float *mx) {
    *mn = x[0], *mx = x[0];
    for (int j = 1; j < LC_QK32; j++) {
        if (x[j] < *mn) *mn = x[j];
        if (x[j] > *mx) *mx = x[j];
    }
}

void lc_quantize_q4_1(const float *src, void *dst, int64_t n) {
    lc_blk_q4_1 *y = (lc_blk_q4_1 *)dst;
    for (int64_t i = 0; i < n / LC_QK32; i++, y++, src += LC_QK32) {
        float mn, mx;
        min_max(src, &mn, &mx);
        const float d = (mx - mn) / 15.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y->d = lc_f32_to_f16(d);
        y->m = lc_f32_to_f16(mn);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(int8_t)((src[j] - mn) * id + 0.5f), q1 = (int)(int8_t)((src[j + 16] - mn) * id + 0.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            y->qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void store_qh(uint8_t qh[4], uint32_t v) {
    for (int k = 0; k < 4; k++) qh[k] = (uint8_t)(v >> (8 * k));
}

void lc_quantize_q5_0(const float *src, void *dst, int64_t n) {
    lc_blk_q5_0 *y = (lc_blk_q5_0 *)dst;
    for (int64_t i = 0; i < n / LC_QK32; i++, y++, src += LC_QK32) {
        float amax = 0.0f, mx = 0.0f;
        for (int j = 0; j < LC_QK32; j++) {
            if (amax < fabsf(src[j])) {
                amax = fabsf(src[j]);
                mx = src[j];
            }
        }
        const float d = mx / -16.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y->d = lc_f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(int8_t)(src[j] * id + 16.5f), q1 = (int)(int8_t)(src[j + 16] * id + 16.5f);
            q0 = q0 < 31 ? q0 : 31;
            q1 = q1 < 31 ? q1 : 31;
            y->qs[j] = (uint8_t)((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + 16);
        }
        store_qh(y->qh, qh);
    }
}

void lc_quantize_q5_1(const float *src, void *dst, int64_t n) {
    lc_blk_q5_1 *y = (lc_blk_q5_1 *)dst;
    for (int64_t i = 0; i < n / LC_QK32; i++, y++, src += LC_QK32) {
        float mn, mx;
        min_max(src, &mn, &mx);
        const float d = (mx - mn) / 31.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y->d = lc_f32_to_f16(d);
        y->m = lc_f32_to_f16(mn);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(uint8_t)((src[j] - mn) * id + 0.5f), q1 = (int)(uint8_t)((src[j + 16] - mn) * id + 0.5f);
            y->qs[j] = (uint8_t)((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= (uint32_t)((q0 >> 4) & 1) << j;
            qh |= (uint32_t)((q1 >> 4) & 1) << (j + 16);
        }
        store_qh(y->qh, qh);
    }
}
