/*
 * AVX2/FMA row steps of the flash attention backward. exp is the Cephes
 * single-precision scheme: x = n ln2 + r with n = round(x log2 e), a degree-6
 * polynomial for e^r on |r| <= ln2/2, then 2^n through the exponent bits;
 * relative error about 2 ulp, inputs below -88 give 0.
 */
#include <immintrin.h>

#include "train/attn_rows.h"

static inline __m256 exp_avx2(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-88.0f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

void lc_tr_p_row_avx2(float *s, int64_t n, int64_t vis, float scale, float lse) {
    const __m256 vs = _mm256_set1_ps(scale), vl = _mm256_set1_ps(lse);
    const __m256 lane = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
    int64_t c = 0;
    for (; c + 8 <= n; c += 8) {
        if (c >= vis) {
            _mm256_storeu_ps(s + c, _mm256_setzero_ps());
            continue;
        }
        __m256 e = exp_avx2(_mm256_fmsub_ps(vs, _mm256_loadu_ps(s + c), vl));
        if (c + 8 > vis) { /* zero the lanes at or past vis */
            const __m256 keep = _mm256_cmp_ps(_mm256_add_ps(lane, _mm256_set1_ps((float)c)),
                                              _mm256_set1_ps((float)vis), _CMP_LT_OQ);
            e = _mm256_and_ps(e, keep);
        }
        _mm256_storeu_ps(s + c, e);
    }
    for (; c < n; c++) { /* tail: the same exp, one lane at a time */
        float one[8] = {scale * s[c] - lse};
        _mm256_storeu_ps(one, exp_avx2(_mm256_loadu_ps(one)));
        s[c] = c < vis ? one[0] : 0.0f;
    }
}

void lc_tr_ds_row_avx2(float *dp, const float *p, int64_t n, float scale, float d) {
    const __m256 vs = _mm256_set1_ps(scale), vd = _mm256_set1_ps(d);
    int64_t c = 0;
    for (; c + 8 <= n; c += 8) {
        const __m256 x = _mm256_sub_ps(_mm256_loadu_ps(dp + c), vd);
        _mm256_storeu_ps(dp + c, _mm256_mul_ps(_mm256_mul_ps(vs, _mm256_loadu_ps(p + c)), x));
    }
    for (; c < n; c++) dp[c] = scale * p[c] * (dp[c] - d);
}

void lc_tr_elu1_rows_avx2(float *dst, const float *x, int64_t n, int64_t st, int32_t hd) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i++) {
        const float *xi = x + i * st;
        float *di = dst + i * hd;
        int32_t c = 0;
        for (; c + 8 <= hd; c += 8) {
            const __m256 v = _mm256_loadu_ps(xi + c);
            const __m256 pos = _mm256_cmp_ps(v, zero, _CMP_GT_OQ);
            _mm256_storeu_ps(di + c, _mm256_blendv_ps(exp_avx2(v), _mm256_add_ps(v, one), pos));
        }
        for (; c < hd; c++) { /* tail: the same exp, one lane at a time */
            float one_[8] = {xi[c]};
            _mm256_storeu_ps(one_, exp_avx2(_mm256_loadu_ps(one_)));
            di[c] = xi[c] > 0.0f ? xi[c] + 1.0f : one_[0];
        }
    }
}
