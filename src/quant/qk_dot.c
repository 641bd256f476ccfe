/*
 * Scalar reference dot products: one quantised weight row . one quantised
 * activation row. These are the definitions the AVX2 kernels are tested
 * against: every block's products are summed exactly in int32 and only then
 * scaled in f32, as the block formulas read (gguf-py's quants.py, ggml's
 * ggml-common.h layouts):
 *
 *   Q4_0  . Q8_0  sum_b dw da sum (q - 8) a
 *   Q4_1  . Q8_1  sum_b dw da sum q a + mw s          (s = da sum a)
 *   Q5_0  . Q8_0  sum_b dw da sum (q - 16) a          (q: 4 low bits + qh bit)
 *   Q5_1  . Q8_1  sum_b dw da sum q a + mw s
 *   Q8_0  . Q8_0  sum_b dw da sum q a
 *   IQ4_NL. Q8_0  sum_b dw da sum kv[q] a
 *   MXFP4 . Q8_0  sum_b 2^(e-128) da sum kv4[q] a
 *   Q2_K  . Q8_K  sum_B da (d sum_j sc_j sum q a - dmin sum_j m_j bsum_j)    j: 16 x 16
 *   Q3_K  . Q8_K  sum_B da d sum_j (sc_j - 32) sum (q - 4 (1 - h)) a          j: 16 x 16
 *   Q4_K  . Q8_K  sum_B da (d sum_j sc_j sum q a - dmin sum_j m_j sum a)      j: 8 x 32
 *   Q5_K  . Q8_K  as Q4_K with q + 16 h
 *   Q6_K  . Q8_K  sum_B da d sum_j sc_j sum (q - 32) a                        j: 16 x 16
 *   IQ4_XS. Q8_K  sum_B da d sum_j (ls_j - 32) sum kv[q] a                    j: 8 x 32
 */
#include "quant/qk_kernels.h"

/* ---- 32-element blocks -------------------------------------------------- */

/* The 32 weights of a 4-bit block with nibbles stored as Q4_0's: element j
 * in the low nibble of qs[j], element j + 16 in the high nibble. */
static void nibbles32(const uint8_t *qs, int v[32]) {
    for (int j = 0; j < 16; j++) {
        v[j] = qs[j] & 0xF;
        v[j + 16] = qs[j] >> 4;
    }
}

/* Q5's fifth bits: bit j of the little-endian 32-bit qh is element j's. */
static void add_high_bits(const uint8_t qh[4], int v[32]) {
    uint32_t h = (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
    for (int j = 0; j < 32; j++) v[j] |= (int)((h >> j) & 1) << 4;
}

static int32_t idot32(const int v[32], const int8_t *a) {
    int32_t s = 0;
    for (int j = 0; j < 32; j++) s += v[j] * a[j];
    return s;
}

float lc_qdot_q4_0_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_q4_0 *x = w;
    const lc_block_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        int v[32];
        nibbles32(x[b].qs, v);
        for (int j = 0; j < 32; j++) v[j] -= 8;
        sum += (float)idot32(v, y[b].qs) * (lc_f16_to_f32(x[b].d) * lc_f16_to_f32(y[b].d));
    }
    return sum;
}

float lc_qdot_q4_1_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_q4_1 *x = w;
    const lc_blk_q8_1 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        int v[32];
        nibbles32(x[b].qs, v);
        sum += (float)idot32(v, y[b].qs) * (lc_f16_to_f32(x[b].d) * lc_f16_to_f32(y[b].d)) +
               lc_f16_to_f32(x[b].m) * lc_f16_to_f32(y[b].s);
    }
    return sum;
}

float lc_qdot_q5_0_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_q5_0 *x = w;
    const lc_block_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        int v[32];
        nibbles32(x[b].qs, v);
        add_high_bits(x[b].qh, v);
        for (int j = 0; j < 32; j++) v[j] -= 16;
        sum += (float)idot32(v, y[b].qs) * (lc_f16_to_f32(x[b].d) * lc_f16_to_f32(y[b].d));
    }
    return sum;
}

float lc_qdot_q5_1_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_q5_1 *x = w;
    const lc_blk_q8_1 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        int v[32];
        nibbles32(x[b].qs, v);
        add_high_bits(x[b].qh, v);
        sum += (float)idot32(v, y[b].qs) * (lc_f16_to_f32(x[b].d) * lc_f16_to_f32(y[b].d)) +
               lc_f16_to_f32(x[b].m) * lc_f16_to_f32(y[b].s);
    }
    return sum;
}

float lc_qdot_q8_0_ref(const void *w, const void *a, int64_t n) {
    const lc_block_q8_0 *x = w;
    const lc_block_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        int32_t s = 0;
        for (int j = 0; j < 32; j++) s += x[b].qs[j] * y[b].qs[j];
        sum += (float)s * (lc_f16_to_f32(x[b].d) * lc_f16_to_f32(y[b].d));
    }
    return sum;
}

float lc_qdot_iq4_nl_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_iq4_nl *x = w;
    const lc_block_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        int v[32];
        nibbles32(x[b].qs, v);
        for (int j = 0; j < 32; j++) v[j] = lc_qk_kvalues_iq4nl[v[j]];
        sum += (float)idot32(v, y[b].qs) * (lc_f16_to_f32(x[b].d) * lc_f16_to_f32(y[b].d));
    }
    return sum;
}

float lc_qdot_mxfp4_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_mxfp4 *x = w;
    const lc_block_q8_0 *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        int v[32];
        nibbles32(x[b].qs, v);
        for (int j = 0; j < 32; j++) v[j] = lc_qk_kvalues_mxfp4[v[j]];
        sum += (float)idot32(v, y[b].qs) * (lc_qk_e8m0_half(x[b].e) * lc_f16_to_f32(y[b].d));
    }
    return sum;
}

/* ---- 256-element super-blocks ------------------------------------------ */

/* Sum of a[16 j .. 16 j + 15] * v[...] for sub-blocks of 16. */
static int32_t idot16(const int *v, const int8_t *a) {
    int32_t s = 0;
    for (int i = 0; i < 16; i++) s += v[i] * a[i];
    return s;
}

float lc_qdot_q2_K_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_q2_K *x = w;
    const lc_blk_q8_K *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LC_QK_K; b++) {
        /* element 128 h + 32 k + l: bits 2k..2k+1 of qs[32 h + l] */
        int v[LC_QK_K];
        for (int e = 0; e < LC_QK_K; e++) v[e] = (x[b].qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
        int32_t isum = 0, imin = 0;
        for (int j = 0; j < 16; j++) {
            isum += (x[b].scales[j] & 0xF) * idot16(v + 16 * j, y[b].qs + 16 * j);
            imin += (x[b].scales[j] >> 4) * y[b].bsums[j];
        }
        sum += y[b].d * (lc_f16_to_f32(x[b].d) * (float)isum - lc_f16_to_f32(x[b].dmin) * (float)imin);
    }
    return sum;
}

float lc_qdot_q3_K_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_q3_K *x = w;
    const lc_blk_q8_K *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LC_QK_K; b++) {
        int v[LC_QK_K];
        for (int e = 0; e < LC_QK_K; e++) {
            int h = e / 128, k = (e / 32) % 4, l = e % 32;
            int lo = (x[b].qs[32 * h + l] >> (2 * k)) & 3;
            int hi = (x[b].hmask[l] >> (4 * h + k)) & 1;
            v[e] = lo - (hi ? 0 : 4);
        }
        int8_t sc[16];
        lc_qk_q3k_scales(x[b].scales, sc);
        int32_t isum = 0;
        for (int j = 0; j < 16; j++) isum += sc[j] * idot16(v + 16 * j, y[b].qs + 16 * j);
        sum += y[b].d * lc_f16_to_f32(x[b].d) * (float)isum;
    }
    return sum;
}

/* Q4_K and Q5_K: element 64 i + l (l < 32) is the low nibble of qs[32 i + l],
 * element 64 i + 32 + l its high nibble; Q5_K's fifth bit of element
 * 32 j + l is bit j of qh[l]. */
static float dot_q45_K(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, uint16_t d, uint16_t dmin,
                       const lc_blk_q8_K *y) {
    int v[LC_QK_K];
    for (int e = 0; e < LC_QK_K; e++) {
        int j = e / 32, l = e % 32;
        v[e] = (j & 1) ? qs[32 * (j / 2) + l] >> 4 : qs[32 * (j / 2) + l] & 0xF;
        if (qh) v[e] |= ((qh[l] >> j) & 1) << 4;
    }
    int32_t isum = 0, imin = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        lc_qk_q4k_scale_min(scales, j, &sc, &m);
        isum += sc * (idot16(v + 32 * j, y->qs + 32 * j) + idot16(v + 32 * j + 16, y->qs + 32 * j + 16));
        imin += m * (y->bsums[2 * j] + y->bsums[2 * j + 1]);
    }
    return y->d * (lc_f16_to_f32(d) * (float)isum - lc_f16_to_f32(dmin) * (float)imin);
}

float lc_qdot_q4_K_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_q4_K *x = w;
    const lc_blk_q8_K *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LC_QK_K; b++) sum += dot_q45_K(x[b].scales, x[b].qs, NULL, x[b].d, x[b].dmin, &y[b]);
    return sum;
}

float lc_qdot_q5_K_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_q5_K *x = w;
    const lc_blk_q8_K *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LC_QK_K; b++)
        sum += dot_q45_K(x[b].scales, x[b].qs, x[b].qh, x[b].d, x[b].dmin, &y[b]);
    return sum;
}

float lc_qdot_q6_K_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_q6_K *x = w;
    const lc_blk_q8_K *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LC_QK_K; b++) {
        /* element 128 h + 32 k + l: low 4 bits from ql[64 h + l + 32 (k % 2)]
         * (low nibble for k < 2, high for k >= 2), high 2 bits from bits
         * 2k..2k+1 of qh[32 h + l] */
        int v[LC_QK_K];
        for (int e = 0; e < LC_QK_K; e++) {
            int h = e / 128, k = (e / 32) % 4, l = e % 32;
            uint8_t ql = x[b].ql[64 * h + l + 32 * (k % 2)];
            int lo = k < 2 ? ql & 0xF : ql >> 4;
            int hi = (x[b].qh[32 * h + l] >> (2 * k)) & 3;
            v[e] = (lo | hi << 4) - 32;
        }
        int32_t isum = 0;
        for (int j = 0; j < 16; j++) isum += x[b].scales[j] * idot16(v + 16 * j, y[b].qs + 16 * j);
        sum += y[b].d * lc_f16_to_f32(x[b].d) * (float)isum;
    }
    return sum;
}

float lc_qdot_iq4_xs_ref(const void *w, const void *a, int64_t n) {
    const lc_blk_iq4_xs *x = w;
    const lc_blk_q8_K *y = a;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / LC_QK_K; b++) {
        int32_t isum = 0;
        for (int j = 0; j < 8; j++) {
            int ls = ((x[b].scales_l[j / 2] >> (4 * (j % 2))) & 0xF) | (((x[b].scales_h >> (2 * j)) & 3) << 4);
            int v[32];
            nibbles32(x[b].qs + 16 * j, v);
            for (int i = 0; i < 32; i++) v[i] = lc_qk_kvalues_iq4nl[v[i]];
            isum += (ls - 32) * idot32(v, y[b].qs + 32 * j);
        }
        sum += y[b].d * lc_f16_to_f32(x[b].d) * (float)isum;
    }
    return sum;
}
