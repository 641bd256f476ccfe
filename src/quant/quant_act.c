/*
 * Reference quantization of activation rows to the 8-bit blocks the integer
 * dot products read (ggml's quantize_row_q8_0_ref / q8_1_ref / q8_K_ref):
 *
 *   q8_0  per 32: d = max|x| / 127, q = round(x / d) (half away from zero)
 *   q8_1  as q8_0, plus s = d * sum(q) stored as f16
 *   q8_K  per 256: m = the x of largest |x|, iscale = -127 / m,
 *         q = min(127, nearest_even(iscale * x)), d = 1 / iscale (f32),
 *         bsums[k] = sum of q[16k .. 16k+15]
 */
#include <math.h>
#include <string.h>

#include "quant/quant.h"

int64_t lc_quant_act_block(lc_quant_act a) {
    switch (a) {
    case LC_QACT_Q8_0:
    case LC_QACT_Q8_1: return LC_QK32;
    case LC_QACT_Q8_K: return LC_QK_K;
    default: return 0;
    }
}

size_t lc_quant_act_block_bytes(lc_quant_act a) {
    switch (a) {
    case LC_QACT_Q8_0: return sizeof(lc_block_q8_0);
    case LC_QACT_Q8_1: return sizeof(lc_blk_q8_1);
    case LC_QACT_Q8_K: return sizeof(lc_blk_q8_K);
    default: return 0;
    }
}

static void q8_1_from_f32(const float *x, lc_blk_q8_1 *y, int64_t n) {
    for (int64_t i = 0; i < n / LC_QK32; i++, y++, x += LC_QK32) {
        float amax = 0.0f;
        for (int j = 0; j < LC_QK32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        y->d = lc_f32_to_f16(d);
        int sum = 0;
        for (int j = 0; j < LC_QK32; j++) {
            y->qs[j] = (int8_t)roundf(x[j] * id);
            sum += y->qs[j];
        }
        y->s = lc_f32_to_f16((float)sum * d);
    }
}

/* Round to nearest, ties to even (ggml's nearest_int for |v| < 2^22). */
static int nearest_even(float v) { return (int)lrintf(v); }

static void q8_K_from_f32(const float *x, lc_blk_q8_K *y, int64_t n) {
    for (int64_t i = 0; i < n / LC_QK_K; i++, y++, x += LC_QK_K) {
        float amax = 0.0f, mx = 0.0f;
        for (int j = 0; j < LC_QK_K; j++) {
            float ax = fabsf(x[j]);
            if (ax > amax) {
                amax = ax;
                mx = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(y, 0, sizeof *y);
            continue;
        }
        const float iscale = -127.0f / mx;
        for (int j = 0; j < LC_QK_K; j++) {
            int v = nearest_even(iscale * x[j]);
            y->qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int k = 0; k < LC_QK_K / 16; k++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += y->qs[16 * k + j];
            y->bsums[k] = (int16_t)s;
        }
        y->d = 1.0f / iscale;
    }
}

void lc_quant_act_from_f32(lc_quant_act a, const float *src, void *dst, int64_t n) {
    switch (a) {
    case LC_QACT_Q8_0: lc_quantize_row_q8_0(src, (lc_block_q8_0 *)dst, n); break;
    case LC_QACT_Q8_1: q8_1_from_f32(src, (lc_blk_q8_1 *)dst, n); break;
    case LC_QACT_Q8_K: q8_K_from_f32(src, (lc_blk_q8_K *)dst, n); break;
    default: break;
    }
}

void lc_quant_act_to_f32(lc_quant_act a, const void *src, float *dst, int64_t n) {
    switch (a) {
    case LC_QACT_Q8_0: lc_dequantize_row_q8_0((const lc_block_q8_0 *)src, dst, n); break;
    case LC_QACT_Q8_1: {
        const lc_blk_q8_1 *b = (const lc_blk_q8_1 *)src;
        for (int64_t i = 0; i < n / LC_QK32; i++) {
            const float d = lc_f16_to_f32(b[i].d);
            for (int j = 0; j < LC_QK32; j++) dst[i * LC_QK32 + j] = d * (float)b[i].qs[j];
        }
        break;
    }
    case LC_QACT_Q8_K: {
        const lc_blk_q8_K *b = (const lc_blk_q8_K *)src;
        for (int64_t i = 0; i < n / LC_QK_K; i++)
            for (int j = 0; j < LC_QK_K; j++) dst[i * LC_QK_K + j] = b[i].d * (float)b[i].qs[j];
        break;
    }
    default: break;
    }
}
