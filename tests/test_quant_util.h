/* Helpers of the quantized-type tests: random, valid blocks of any type. */
#ifndef LC_TEST_QUANT_UTIL_H
#define LC_TEST_QUANT_UTIL_H

#include <stdint.h>

#include "common/util.h"
#include "quant/quant.h"

/* Random bytes, with every f16 scale field replaced by a finite value of a
 * weight-like size (MXFP4's e8m0 kept in a normal range). */
static inline void random_blocks(lc_dtype t, uint8_t *p, int64_t nb, lc_rng *rng) {
    const lc_quant_traits *q = lc_quant_traits_of(t);
    for (int64_t i = 0; i < nb * q->block_bytes; i++) p[i] = (uint8_t)lc_rng_below(rng, 256);
    int f16_at[2] = {-1, -1};
    switch (t) {
    case LC_DTYPE_Q8_0: case LC_DTYPE_Q4_0: case LC_DTYPE_Q5_0: case LC_DTYPE_IQ4_NL: case LC_DTYPE_IQ4_XS:
        f16_at[0] = 0;
        break;
    case LC_DTYPE_Q4_1: case LC_DTYPE_Q5_1: case LC_DTYPE_Q4_K: case LC_DTYPE_Q5_K:
        f16_at[0] = 0, f16_at[1] = 2;
        break;
    case LC_DTYPE_Q2_K: f16_at[0] = 80, f16_at[1] = 82; break;
    case LC_DTYPE_Q3_K: f16_at[0] = 108; break;
    case LC_DTYPE_Q6_K: f16_at[0] = 208; break;
    default: break;
    }
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = p + (size_t)b * (size_t)q->block_bytes;
        for (int j = 0; j < 2; j++) {
            if (f16_at[j] < 0) continue;
            uint16_t v = lc_f32_to_f16((lc_rng_uniform(rng) - 0.3f) * 0.01f);
            blk[f16_at[j]] = (uint8_t)v, blk[f16_at[j] + 1] = (uint8_t)(v >> 8);
        }
        if (t == LC_DTYPE_MXFP4) blk[0] = (uint8_t)(112 + lc_rng_below(rng, 16));
    }
}

#endif
