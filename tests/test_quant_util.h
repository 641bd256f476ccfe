/* Helpers of the quantized-type tests: random, valid blocks of any type. */
#ifndef LC_TEST_QUANT_UTIL_H
#define LC_TEST_QUANT_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "common/util.h"
#include "quant/quant.h"

/* Random blocks of weight-like values: random quants and sub-block scales,
 * and the f16 super-scales chosen so that |x| stays below ~0.1 (typical
 * |x| ~0.02-0.05, as in trained models): d = +-u * 0.1 / span, span the
 * largest |level x sub-scale| of the type, u in [0.5, 1.5); the mins of the
 * asymmetric types centre the values (q4_1/q5_1 m = -levels/2 * |d|, K types
 * dmin = mean level * |d|); MXFP4's exponent makes 12 * 2^(e-128) ~ 0.1. */
static inline void random_blocks(lc_dtype t, uint8_t *p, int64_t nb, lc_rng *rng) {
    const lc_quant_traits *q = lc_quant_traits_of(t);
    for (int64_t i = 0; i < nb * q->block_bytes; i++) p[i] = (uint8_t)lc_rng_below(rng, 256);
    int d_at = -1, m_at = -1;
    float span = 1.0f, m_mul = 0.0f;
    bool neg_ok = true;
    switch (t) {
    case LC_DTYPE_Q8_0: d_at = 0, span = 127; break;
    case LC_DTYPE_Q4_0: d_at = 0, span = 8; break;
    case LC_DTYPE_Q5_0: d_at = 0, span = 16; break;
    case LC_DTYPE_IQ4_NL: d_at = 0, span = 127; break;
    case LC_DTYPE_IQ4_XS: d_at = 0, span = 4064; break;
    case LC_DTYPE_Q4_1: d_at = 0, m_at = 2, span = 15, m_mul = -7.5f, neg_ok = false; break;
    case LC_DTYPE_Q5_1: d_at = 0, m_at = 2, span = 31, m_mul = -15.5f, neg_ok = false; break;
    case LC_DTYPE_Q2_K: d_at = 80, m_at = 82, span = 45, m_mul = 1.5f, neg_ok = false; break;
    case LC_DTYPE_Q3_K: d_at = 108, span = 128; break;
    case LC_DTYPE_Q4_K: d_at = 0, m_at = 2, span = 945, m_mul = 7.5f, neg_ok = false; break;
    case LC_DTYPE_Q5_K: d_at = 0, m_at = 2, span = 1953, m_mul = 15.5f, neg_ok = false; break;
    case LC_DTYPE_Q6_K: d_at = 208, span = 4096; break;
    default: break;
    }
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = p + (size_t)b * (size_t)q->block_bytes;
        if (d_at >= 0) {
            float d = (0.5f + lc_rng_uniform(rng)) * 0.1f / span;
            if (neg_ok && lc_rng_below(rng, 4) == 0) d = -d;
            uint16_t v = lc_f32_to_f16(d);
            blk[d_at] = (uint8_t)v, blk[d_at + 1] = (uint8_t)(v >> 8);
            if (m_at >= 0) {
                v = lc_f32_to_f16(m_mul * (d < 0 ? -d : d));
                blk[m_at] = (uint8_t)v, blk[m_at + 1] = (uint8_t)(v >> 8);
            }
        }
        if (t == LC_DTYPE_MXFP4) blk[0] = (uint8_t)(120 + lc_rng_below(rng, 3));
    }
}

/* LC_SHARED_DIR/rel into buf; false (saying what is skipped) when absent.
 * Unlike lc_test_shared it never exits, so checks that ran before still
 * decide the verdict. */
static inline bool quant_shared(const char *rel, const char *what, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/%s", LC_SHARED_DIR, rel);
    if (access(buf, F_OK) == 0) return true;
    fprintf(stderr, "SKIP part: %s is absent: %s\n", buf, what);
    return false;
}

#endif
