/*
 * Reference dequantization of the K types (super-blocks of 256 with packed
 * sub-block scales): Q2_K, Q3_K, Q4_K, Q5_K, Q6_K. Formulas and bit layouts:
 * docs/formats.md. The products are evaluated in ggml's order (sub-block
 * scale = d * sc first, then * q, then - d_min * m), so results are bit for
 * bit ggml's and gguf-py's.
 */
#include <string.h>

#include "quant/quant.h"

void lc_dequant_q2_K(const void *src, float *dst, int64_t n) {
    const lc_blk_q2_K *b = (const lc_blk_q2_K *)src;
    for (int64_t i = 0; i < n / LC_QK_K; i++, b++) {
        const float d = lc_f16_to_f32(b->d), dmin = lc_f16_to_f32(b->dmin);
        const uint8_t *q = b->qs;
        int is = 0;
        /* Two halves of 128; in each, 4 bit-pairs (shift 0, 2, 4, 6) of 32
         * bytes, each pair split in two sub-blocks of 16. */
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int sub = 0; sub < 2; sub++) {
                    const uint8_t sc = b->scales[is++];
                    const float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
                    for (int l = 0; l < 16; l++) *dst++ = dl * (float)((q[l + 16 * sub] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/* The 16 6-bit scales of a Q3_K block (stored with an offset of 32): low 4
 * bits in bytes 0..7 (scales 0..7 low nibbles, 8..15 high nibbles), high 2
 * bits in bytes 8..11 (scale i: byte 8 + i % 4, bits 2 * (i / 4)). */
static void q3_K_scales(const uint8_t s[12], int scales[16]) {
    for (int i = 0; i < 16; i++) {
        int lo = i < 8 ? s[i] & 0xF : s[i - 8] >> 4;
        int hi = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
        scales[i] = (lo | (hi << 4)) - 32;
    }
}

void lc_dequant_q3_K(const void *src, float *dst, int64_t n) {
    const lc_blk_q3_K *b = (const lc_blk_q3_K *)src;
    for (int64_t i = 0; i < n / LC_QK_K; i++, b++) {
        const float d = lc_f16_to_f32(b->d);
        int scales[16];
        q3_K_scales(b->scales, scales);
        const uint8_t *q = b->qs;
        uint8_t m = 1; /* hmask bit of the current 32-element group */
        int is = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m = (uint8_t)(m << 1)) {
                for (int sub = 0; sub < 2; sub++) {
                    const float dl = d * (float)scales[is++];
                    for (int l = 16 * sub; l < 16 * sub + 16; l++) {
                        int v = ((q[l] >> shift) & 3) - ((b->hmask[l] & m) ? 0 : 4);
                        *dst++ = dl * (float)v;
                    }
                }
            }
        }
    }
}

void lc_dequant_q4_K(const void *src, float *dst, int64_t n) {
    const lc_blk_q4_K *b = (const lc_blk_q4_K *)src;
    for (int64_t i = 0; i < n / LC_QK_K; i++, b++) {
        const float d = lc_f16_to_f32(b->d), dmin = lc_f16_to_f32(b->dmin);
        const uint8_t *q = b->qs;
        for (int j = 0; j < 8; j += 2, q += 32) {
            uint8_t sc, m;
            lc_quant_k4_scale_min(j, b->scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            lc_quant_k4_scale_min(j + 1, b->scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) *dst++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *dst++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

void lc_dequant_q5_K(const void *src, float *dst, int64_t n) {
    const lc_blk_q5_K *b = (const lc_blk_q5_K *)src;
    for (int64_t i = 0; i < n / LC_QK_K; i++, b++) {
        const float d = lc_f16_to_f32(b->d), dmin = lc_f16_to_f32(b->dmin);
        const uint8_t *ql = b->qs;
        uint8_t u1 = 1, u2 = 2; /* qh bits of the two sub-blocks of this 64 */
        for (int j = 0; j < 8; j += 2, ql += 32, u1 = (uint8_t)(u1 << 2), u2 = (uint8_t)(u2 << 2)) {
            uint8_t sc, m;
            lc_quant_k4_scale_min(j, b->scales, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            lc_quant_k4_scale_min(j + 1, b->scales, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; l++) *dst++ = d1 * (float)((ql[l] & 0xF) + (b->qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *dst++ = d2 * (float)((ql[l] >> 4) + (b->qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

void lc_dequant_q6_K(const void *src, float *dst, int64_t n) {
    const lc_blk_q6_K *b = (const lc_blk_q6_K *)src;
    for (int64_t i = 0; i < n / LC_QK_K; i++, b++) {
        const float d = lc_f16_to_f32(b->d);
        const uint8_t *ql = b->ql, *qh = b->qh;
        const int8_t *sc = b->scales;
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, dst += 128) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                dst[l] = d * (float)sc[is + 0] * (float)q1;
                dst[l + 32] = d * (float)sc[is + 2] * (float)q2;
                dst[l + 64] = d * (float)sc[is + 4] * (float)q3;
                dst[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}
