/*
 * Random weight blocks of a quantised type, for benchmarks and tests: every
 * byte random (all quant levels, all high bits), then the scale fields set
 * to finite values of magnitude 2^-8 .. 2^-6 with random signs (MXFP4:
 * exponents 120 .. 135), so that products stay finite.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "common/util.h"
#include "quant/qk_kernels.h"

/* Offsets of the f16 scale fields (d, then dmin or m where the type has one). */
static int scale_fields(lc_qk_type t, size_t off[2]) {
    switch (t) {
    case LC_QK_Q4_1:
    case LC_QK_Q5_1:
    case LC_QK_Q4_K:
    case LC_QK_Q5_K: off[0] = 0, off[1] = 2; return 2;
    case LC_QK_Q2_K: off[0] = offsetof(lc_blk_q2_K, d), off[1] = offsetof(lc_blk_q2_K, dmin); return 2;
    case LC_QK_Q3_K: off[0] = offsetof(lc_blk_q3_K, d); return 1;
    case LC_QK_Q6_K: off[0] = offsetof(lc_blk_q6_K, d); return 1;
    case LC_QK_MXFP4: return 0;
    default: off[0] = 0; return 1;
    }
}

void lc_qk_random_blocks(lc_qk_type t, void *dst, int64_t n_blocks, uint64_t seed) {
    const lc_qk_info *in = lc_qk_info_get(t);
    if (!in || n_blocks <= 0) return;
    lc_rng rng;
    lc_rng_seed(&rng, seed);
    uint8_t *p = dst;
    const size_t bytes = (size_t)n_blocks * in->block_bytes;
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        uint64_t v = lc_rng_u64(&rng);
        memcpy(p + i, &v, 8);
    }
    for (; i < bytes; i++) p[i] = (uint8_t)lc_rng_u64(&rng);
    size_t off[2];
    const int nf = scale_fields(t, off);
    for (int64_t b = 0; b < n_blocks; b++) {
        uint8_t *blk = p + (size_t)b * in->block_bytes;
        if (t == LC_QK_MXFP4) {
            blk[0] = (uint8_t)(120 + lc_rng_below(&rng, 16));
            continue;
        }
        for (int f = 0; f < nf; f++) {
            float v = (1.0f + lc_rng_uniform(&rng)) / (float)(64 << lc_rng_below(&rng, 3));
            uint16_t h = lc_f32_to_f16(lc_rng_below(&rng, 2) ? -v : v);
            memcpy(blk + off[f], &h, 2);
        }
    }
}

static double f16_abs(const uint8_t *blk, size_t off) {
    uint16_t h;
    memcpy(&h, blk + off, 2);
    return fabs((double)lc_f16_to_f32(h));
}

double lc_qk_block_bound(lc_qk_type t, const void *blk) {
    const uint8_t *b = blk;
    switch (t) {
    case LC_QK_Q4_0: return 8 * f16_abs(b, 0);
    case LC_QK_Q4_1: return 15 * f16_abs(b, 0) + f16_abs(b, 2);
    case LC_QK_Q5_0: return 16 * f16_abs(b, 0);
    case LC_QK_Q5_1: return 31 * f16_abs(b, 0) + f16_abs(b, 2);
    case LC_QK_Q8_0: return 128 * f16_abs(b, 0);
    case LC_QK_IQ4_NL: return 127 * f16_abs(b, 0);
    case LC_QK_MXFP4: return 12 * (double)lc_qk_e8m0_half(b[0]);
    case LC_QK_Q2_K: return 45 * f16_abs(b, offsetof(lc_blk_q2_K, d)) + 15 * f16_abs(b, offsetof(lc_blk_q2_K, dmin));
    case LC_QK_Q3_K: return 128 * f16_abs(b, offsetof(lc_blk_q3_K, d));
    case LC_QK_Q4_K: return 63 * 15 * f16_abs(b, 0) + 63 * f16_abs(b, 2);
    case LC_QK_Q5_K: return 63 * 31 * f16_abs(b, 0) + 63 * f16_abs(b, 2);
    case LC_QK_Q6_K: return 128 * 32 * f16_abs(b, offsetof(lc_blk_q6_K, d));
    case LC_QK_IQ4_XS: return 32 * 127 * f16_abs(b, 0);
    default: return INFINITY;
    }
}
