/*
 * Reference dequantization of the 32-element "legacy" types (Q4_0, Q4_1,
 * Q5_0, Q5_1, Q8_0). Each formula is the one in docs/formats.md, evaluated in
 * the same order as ggml's dequantize_row_* (an int converted to float, one
 * multiply by the f16 scale, then + min where the type has one), so results
 * are bit for bit ggml's and gguf-py's. Element j of a block is in the low
 * nibble of qs[j], element j + 16 in the high nibble.
 */
#include <string.h>

#include "quant/quant.h"

void lc_dequant_q4_0(const void *src, float *dst, int64_t n) {
    const lc_blk_q4_0 *b = (const lc_blk_q4_0 *)src;
    for (int64_t i = 0; i < n / LC_QK32; i++, b++, dst += LC_QK32) {
        const float d = lc_f16_to_f32(b->d);
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)((b->qs[j] & 0xF) - 8) * d;
            dst[j + 16] = (float)((b->qs[j] >> 4) - 8) * d;
        }
    }
}

void lc_dequant_q4_1(const void *src, float *dst, int64_t n) {
    const lc_blk_q4_1 *b = (const lc_blk_q4_1 *)src;
    for (int64_t i = 0; i < n / LC_QK32; i++, b++, dst += LC_QK32) {
        const float d = lc_f16_to_f32(b->d), m = lc_f16_to_f32(b->m);
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)(b->qs[j] & 0xF) * d + m;
            dst[j + 16] = (float)(b->qs[j] >> 4) * d + m;
        }
    }
}

/* The 32 fifth bits of a Q5 block, element j in bit j. */
static uint32_t load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | ((uint32_t)qh[1] << 8) | ((uint32_t)qh[2] << 16) | ((uint32_t)qh[3] << 24);
}

void lc_dequant_q5_0(const void *src, float *dst, int64_t n) {
    const lc_blk_q5_0 *b = (const lc_blk_q5_0 *)src;
    for (int64_t i = 0; i < n / LC_QK32; i++, b++, dst += LC_QK32) {
        const float d = lc_f16_to_f32(b->d);
        const uint32_t qh = load_qh(b->qh);
        for (int j = 0; j < 16; j++) {
            int h0 = (int)((qh >> j) & 1) << 4, h1 = (int)((qh >> (j + 16)) & 1) << 4;
            dst[j] = (float)(((b->qs[j] & 0xF) | h0) - 16) * d;
            dst[j + 16] = (float)(((b->qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void lc_dequant_q5_1(const void *src, float *dst, int64_t n) {
    const lc_blk_q5_1 *b = (const lc_blk_q5_1 *)src;
    for (int64_t i = 0; i < n / LC_QK32; i++, b++, dst += LC_QK32) {
        const float d = lc_f16_to_f32(b->d), m = lc_f16_to_f32(b->m);
        const uint32_t qh = load_qh(b->qh);
        for (int j = 0; j < 16; j++) {
            int h0 = (int)((qh >> j) & 1) << 4, h1 = (int)((qh >> (j + 16)) & 1) << 4;
            dst[j] = (float)((b->qs[j] & 0xF) | h0) * d + m;
            dst[j + 16] = (float)((b->qs[j] >> 4) | h1) * d + m;
        }
    }
}

void lc_dequant_q8_0(const void *src, float *dst, int64_t n) {
    lc_dequantize_row_q8_0((const lc_block_q8_0 *)src, dst, n);
}
