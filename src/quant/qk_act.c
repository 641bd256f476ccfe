/*
 * Scalar reference of the activation quantisers (f32 row -> Q8_0 / Q8_1 /
 * Q8_K blocks), the table of the quantised weight types the integer kernels
 * cover, and the constants their formulas share.
 *
 * Rounding follows ggml's x86 code, so that products come out as close as
 * possible to llama.cpp's: Q8_0 and Q8_1 multiply by 127/amax and round half
 * to even (as _mm256_round_ps does); Q8_K multiplies by -127/max, max the
 * value of largest magnitude (the first one on ties), rounds half to even
 * and clamps at 127, with d = 1/iscale.
 */
#include <math.h>
#include <string.h>

#include "quant/qk_kernels.h"

const int8_t lc_qk_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
const int8_t lc_qk_kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

float lc_qk_e8m0_half(uint8_t e) {
    /* 2^(e - 128): a subnormal f32 for e < 2, a normal one otherwise. */
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

void lc_qk_q4k_scale_min(const uint8_t *q, int j, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void lc_qk_q3k_scales(const uint8_t *s, int8_t out[16]) {
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
        int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (int8_t)((lo | hi << 4) - 32);
    }
}

static const lc_qk_info g_info[LC_QK_COUNT] = {
    [LC_QK_Q4_0] = {"q4_0", 32, sizeof(lc_blk_q4_0), LC_ACT_Q8_0, lc_qdot_q4_0_ref},
    [LC_QK_Q4_1] = {"q4_1", 32, sizeof(lc_blk_q4_1), LC_ACT_Q8_1, lc_qdot_q4_1_ref},
    [LC_QK_Q5_0] = {"q5_0", 32, sizeof(lc_blk_q5_0), LC_ACT_Q8_0, lc_qdot_q5_0_ref},
    [LC_QK_Q5_1] = {"q5_1", 32, sizeof(lc_blk_q5_1), LC_ACT_Q8_1, lc_qdot_q5_1_ref},
    [LC_QK_Q8_0] = {"q8_0", 32, sizeof(lc_block_q8_0), LC_ACT_Q8_0, lc_qdot_q8_0_ref},
    [LC_QK_Q2_K] = {"q2_K", 256, sizeof(lc_blk_q2_K), LC_ACT_Q8_K, lc_qdot_q2_K_ref},
    [LC_QK_Q3_K] = {"q3_K", 256, sizeof(lc_blk_q3_K), LC_ACT_Q8_K, lc_qdot_q3_K_ref},
    [LC_QK_Q4_K] = {"q4_K", 256, sizeof(lc_blk_q4_K), LC_ACT_Q8_K, lc_qdot_q4_K_ref},
    [LC_QK_Q5_K] = {"q5_K", 256, sizeof(lc_blk_q5_K), LC_ACT_Q8_K, lc_qdot_q5_K_ref},
    [LC_QK_Q6_K] = {"q6_K", 256, sizeof(lc_blk_q6_K), LC_ACT_Q8_K, lc_qdot_q6_K_ref},
    [LC_QK_IQ4_NL] = {"iq4_nl", 32, sizeof(lc_blk_iq4_nl), LC_ACT_Q8_0, lc_qdot_iq4_nl_ref},
    [LC_QK_IQ4_XS] = {"iq4_xs", 256, sizeof(lc_blk_iq4_xs), LC_ACT_Q8_K, lc_qdot_iq4_xs_ref},
    [LC_QK_MXFP4] = {"mxfp4", 32, sizeof(lc_blk_mxfp4), LC_ACT_Q8_0, lc_qdot_mxfp4_ref},
};

const lc_qk_info *lc_qk_info_get(lc_qk_type t) {
    return (unsigned)t < LC_QK_COUNT ? &g_info[t] : NULL;
}

bool lc_qk_from_dtype(lc_dtype t, lc_qk_type *out) {
    static const struct {
        lc_dtype d;
        lc_qk_type q;
    } map[] = {
        {LC_DTYPE_Q4_0, LC_QK_Q4_0}, {LC_DTYPE_Q4_1, LC_QK_Q4_1},     {LC_DTYPE_Q5_0, LC_QK_Q5_0},
        {LC_DTYPE_Q5_1, LC_QK_Q5_1}, {LC_DTYPE_Q8_0, LC_QK_Q8_0},     {LC_DTYPE_Q2_K, LC_QK_Q2_K},
        {LC_DTYPE_Q3_K, LC_QK_Q3_K}, {LC_DTYPE_Q4_K, LC_QK_Q4_K},     {LC_DTYPE_Q5_K, LC_QK_Q5_K},
        {LC_DTYPE_Q6_K, LC_QK_Q6_K}, {LC_DTYPE_IQ4_NL, LC_QK_IQ4_NL}, {LC_DTYPE_IQ4_XS, LC_QK_IQ4_XS},
        {LC_DTYPE_MXFP4, LC_QK_MXFP4},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].d == t) {
            *out = map[i].q;
            return true;
        }
    return false;
}

int lc_act_block(lc_act_kind k) { return k == LC_ACT_Q8_K ? LC_QK_K : 32; }

size_t lc_act_block_bytes(lc_act_kind k) {
    switch (k) {
    case LC_ACT_Q8_0: return sizeof(lc_block_q8_0);
    case LC_ACT_Q8_1: return sizeof(lc_blk_q8_1);
    default: return sizeof(lc_blk_q8_K);
    }
}

/* A rounded value as int8 (NaN, from a non-finite row, as 0). */
static int8_t to_i8(float v) {
    if (v >= 127.0f) return 127;
    if (v <= -128.0f) return -128;
    return v == v ? (int8_t)v : 0;
}

/* One block of 32 for Q8_0 / Q8_1: the f32 scale d, the int8 values, and
 * the sum of the values. */
static float quantize32(const float *x, int8_t *q, int *sum) {
    float amax = 0.0f;
    for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[i]));
    /* a block too small for the reciprocal (127 / amax overflows: amax below
     * ~3.7e-37, where the f16 scale is 0 anyway) quantises to zeros */
    float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    if (isinf(id)) id = 0.0f;
    int s = 0;
    for (int i = 0; i < 32; i++) {
        float v = nearbyintf(x[i] * id); /* the default mode: to nearest, ties to even */
        q[i] = to_i8(v);
        s += q[i];
    }
    *sum = s;
    return amax / 127.0f;
}

void lc_quantize_act_q8_0_ref(const float *x, lc_block_q8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++) {
        int s;
        y[b].d = lc_f32_to_f16(quantize32(x + 32 * b, y[b].qs, &s));
    }
}

void lc_quantize_act_q8_1_ref(const float *x, lc_blk_q8_1 *y, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++) {
        int s;
        float d = quantize32(x + 32 * b, y[b].qs, &s);
        y[b].d = lc_f32_to_f16(d);
        y[b].s = lc_f32_to_f16(d * (float)s);
    }
}

void lc_quantize_act_q8_K_ref(const float *x, lc_blk_q8_K *y, int64_t n) {
    for (int64_t b = 0; b < n / LC_QK_K; b++, x += LC_QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int i = 0; i < LC_QK_K; i++) {
            float ax = fabsf(x[i]);
            if (ax > amax) {
                amax = ax;
                max = x[i];
            }
        }
        const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
        if (amax == 0.0f || isinf(iscale)) { /* zero, or too small for the reciprocal: zeros */
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        for (int i = 0; i < LC_QK_K; i++) {
            float v = nearbyintf(iscale * x[i]);
            y[b].qs[i] = to_i8(v);
        }
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += y[b].qs[16 * j + i];
            y[b].bsums[j] = (int16_t)s;
        }
        y[b].d = 1.0f / iscale;
    }
}

void lc_quantize_act_ref(lc_act_kind k, const float *x, void *y, int64_t n) {
    switch (k) {
    case LC_ACT_Q8_0: lc_quantize_act_q8_0_ref(x, (lc_block_q8_0 *)y, n); break;
    case LC_ACT_Q8_1: lc_quantize_act_q8_1_ref(x, (lc_blk_q8_1 *)y, n); break;
    case LC_ACT_Q8_K: lc_quantize_act_q8_K_ref(x, (lc_blk_q8_K *)y, n); break;
    }
}
