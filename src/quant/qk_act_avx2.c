/*
 * AVX2 activation quantisers (f32 row -> Q8_0 / Q8_1 / Q8_K), bit for bit
 * the scalar references of qk_act.c: the same scale (127/amax, or
 * -127/max for Q8_K), one IEEE multiply per value, rounding half to even
 * (vroundps), f16 scales by F16C with round-to-nearest-even.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "quant/qk_kernels.h"

#define LC_INLINE static inline __attribute__((always_inline))

LC_INLINE float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* 32 floats times s, rounded half to even, as 32 int8 (saturated); the
 * int32 sum of the values into *sum. */
LC_INLINE __m256i round_pack32(const float *x, __m256 s, int *sum) {
    __m256i i[4];
    for (int k = 0; k < 4; k++)
        i[k] = _mm256_cvtps_epi32(
            _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
    /* the packs interleave 4-byte groups per 128-bit lane: restore the order */
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    if (sum) {
        __m256i w = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), p), _mm256_set1_epi16(1));
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
        *sum = _mm_cvtsi128_si32(h);
    }
    return p;
}

LC_INLINE float amax32(const float *x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
    for (int k = 1; k < 4; k++) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)));
    return hmax8(m);
}

static void q8_0_avx2(const float *x, lc_block_q8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        float amax = amax32(x);
        float idf = amax != 0.0f ? 127.0f / amax : 0.0f;
        __m256 id = _mm256_set1_ps(isinf(idf) ? 0.0f : idf); /* as the reference: tiny blocks give zeros */
        _mm256_storeu_si256((__m256i *)y[b].qs, round_pack32(x, id, NULL));
        y[b].d = _cvtss_sh(amax / 127.0f, 0);
    }
}

static void q8_1_avx2(const float *x, lc_blk_q8_1 *y, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        float amax = amax32(x);
        float idf = amax != 0.0f ? 127.0f / amax : 0.0f;
        __m256 id = _mm256_set1_ps(isinf(idf) ? 0.0f : idf); /* as the reference: tiny blocks give zeros */
        int s;
        _mm256_storeu_si256((__m256i *)y[b].qs, round_pack32(x, id, &s));
        float d = amax / 127.0f;
        y[b].d = _cvtss_sh(d, 0);
        y[b].s = _cvtss_sh(d * (float)s, 0);
    }
}

static void q8_K_avx2(const float *x, lc_blk_q8_K *y, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t b = 0; b < n / LC_QK_K; b++, x += LC_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < LC_QK_K; k += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)));
        float amax = hmax8(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        /* the first value of that magnitude, with its sign */
        float max = 0.0f;
        __m256 va = _mm256_set1_ps(amax);
        for (int k = 0; k < LC_QK_K; k += 8) {
            int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)), va, _CMP_EQ_OQ));
            if (hit) {
                max = x[k + __builtin_ctz((unsigned)hit)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        if (isinf(iscale)) { /* too small for the reciprocal: zeros, as the reference */
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const __m256 s = _mm256_set1_ps(iscale);
        for (int k = 0; k < LC_QK_K; k += 32)
            _mm256_storeu_si256((__m256i *)(y[b].qs + k), round_pack32(x + k, s, NULL));
        for (int j = 0; j < 16; j++) {
            __m128i q = _mm_loadu_si128((const __m128i *)(y[b].qs + 16 * j));
            __m128i w = _mm_madd_epi16(_mm_maddubs_epi16(_mm_set1_epi8(1), q), _mm_set1_epi16(1));
            w = _mm_add_epi32(w, _mm_shuffle_epi32(w, 0x4E));
            w = _mm_add_epi32(w, _mm_shuffle_epi32(w, 0xB1));
            y[b].bsums[j] = (int16_t)_mm_cvtsi128_si32(w);
        }
        y[b].d = 1.0f / iscale;
    }
}

void lc_quantize_act_avx2(lc_act_kind k, const float *x, void *y, int64_t n) {
    switch (k) {
    case LC_ACT_Q8_0: q8_0_avx2(x, (lc_block_q8_0 *)y, n); break;
    case LC_ACT_Q8_1: q8_1_avx2(x, (lc_blk_q8_1 *)y, n); break;
    case LC_ACT_Q8_K: q8_K_avx2(x, (lc_blk_q8_K *)y, n); break;
    }
}
