/*
 * Reference dequantization of the codebook types: IQ4_NL and IQ4_XS (a fixed
 * non-linear table of 16 int8 levels) and MXFP4 (OCP microscaling FP4: E2M1
 * values with a shared power-of-two E8M0 scale). Formulas: docs/formats.md;
 * bit for bit ggml's and gguf-py's results.
 */
#include <string.h>

#include "quant/quant.h"

/* IQ4_NL's levels (ggml's kvalues_iq4nl). */
const int8_t lc_quant_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};
/* E2M1 values 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives, doubled so they
 * are integers; the scale is halved to match (ggml's kvalues_mxfp4). */
const int8_t lc_quant_mxfp4_values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

void lc_dequant_iq4_nl(const void *src, float *dst, int64_t n) {
    const lc_blk_iq4_nl *b = (const lc_blk_iq4_nl *)src;
    for (int64_t i = 0; i < n / LC_QK32; i++, b++, dst += LC_QK32) {
        const float d = lc_f16_to_f32(b->d);
        for (int j = 0; j < 16; j++) {
            dst[j] = d * (float)lc_quant_iq4nl_values[b->qs[j] & 0xF];
            dst[j + 16] = d * (float)lc_quant_iq4nl_values[b->qs[j] >> 4];
        }
    }
}

void lc_dequant_iq4_xs(const void *src, float *dst, int64_t n) {
    const lc_blk_iq4_xs *b = (const lc_blk_iq4_xs *)src;
    for (int64_t i = 0; i < n / LC_QK_K; i++, b++) {
        const float d = lc_f16_to_f32(b->d);
        const uint8_t *qs = b->qs;
        for (int ib = 0; ib < LC_QK_K / 32; ib++, qs += 16, dst += 32) {
            int ls = ((b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b->scales_h >> (2 * ib)) & 3) << 4);
            const float dl = d * (float)(ls - 32);
            for (int j = 0; j < 16; j++) {
                dst[j] = dl * (float)lc_quant_iq4nl_values[qs[j] & 0xF];
                dst[j + 16] = dl * (float)lc_quant_iq4nl_values[qs[j] >> 4];
            }
        }
    }
}

/* 2^(e - 128): half the E8M0 scale 2^(e - 127), since the levels are doubled.
 * e = 0 and 1 give the f32 subnormals 2^-128 and 2^-127. */
static float e8m0_half(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

void lc_dequant_mxfp4(const void *src, float *dst, int64_t n) {
    const lc_blk_mxfp4 *b = (const lc_blk_mxfp4 *)src;
    for (int64_t i = 0; i < n / LC_QK32; i++, b++, dst += LC_QK32) {
        const float d = e8m0_half(b->e);
        for (int j = 0; j < 16; j++) {
            dst[j] = (float)lc_quant_mxfp4_values[b->qs[j] & 0xF] * d;
            dst[j + 16] = (float)lc_quant_mxfp4_values[b->qs[j] >> 4] * d;
        }
    }
}
