/*
 * AVX2/FMA RoPE kernel: rotate every head of one token by a row
 * cs = [2][n_pairs] (m cos, m sin). Same arithmetic as lc_rope_rotate_row
 * (rope_apply.c), 8 lanes at a time; call only when lc_isa_best() >= AVX2.
 *
 * NEOX: a = x[i..i+7], b = x[n_pairs+i..]:  a' = a c - b s, b' = a s + b c.
 * NORM: v = [a0 b0 a1 b1 a2 b2 a3 b3] holds 4 pairs;
 *       v' = v * [c0 c0 c1 c1 ..] + swap(v) * [-s0 s0 -s1 s1 ..]
 *       with swap(v) = [b0 a0 b1 a1 ..]; the expanded cos/sin rows are
 *       built once per token and reused by every head.
 */
#include <immintrin.h>

#include "rope/rope_internal.h"

void lc_rope_rotate_row_avx2(float *x, int32_t n_heads, int32_t head_dim, int32_t n_pairs, lc_rope_layout layout,
                             const float *cs, bool transpose) {
    const float *cosv = cs, *sinv = cs + n_pairs;
    const float sg = transpose ? -1.0f : 1.0f;
    const __m256 sgv = _mm256_set1_ps(sg);
    /* NORM: expand the row once for all heads: cexp = [c0 c0 c1 c1 ..],
     * sexp = [-s0 s0 -s1 s1 ..] (sign flipped for the transpose). */
    _Alignas(32) float cexp[LC_ROPE_MAX_DIMS], sexp[LC_ROPE_MAX_DIMS];
    if (layout != LC_ROPE_NEOX) {
        const __m256 alt = _mm256_mul_ps(sgv, _mm256_setr_ps(-1, 1, -1, 1, -1, 1, -1, 1));
        for (int32_t i = 0; i + 4 <= n_pairs; i += 4) {
            const __m128 c4 = _mm_loadu_ps(cosv + i), s4 = _mm_loadu_ps(sinv + i);
            _mm256_store_ps(cexp + 2 * i, _mm256_set_m128(_mm_unpackhi_ps(c4, c4), _mm_unpacklo_ps(c4, c4)));
            _mm256_store_ps(sexp + 2 * i,
                            _mm256_mul_ps(alt, _mm256_set_m128(_mm_unpackhi_ps(s4, s4), _mm_unpacklo_ps(s4, s4))));
        }
    }
    for (int32_t h = 0; h < n_heads; h++) {
        float *xh = x + (size_t)h * (size_t)head_dim;
        int32_t i = 0;
        if (layout == LC_ROPE_NEOX) {
            float *xb = xh + n_pairs;
            for (; i + 8 <= n_pairs; i += 8) {
                const __m256 a = _mm256_loadu_ps(xh + i), b = _mm256_loadu_ps(xb + i);
                const __m256 c = _mm256_loadu_ps(cosv + i);
                const __m256 s = _mm256_mul_ps(sgv, _mm256_loadu_ps(sinv + i));
                _mm256_storeu_ps(xh + i, _mm256_fmsub_ps(a, c, _mm256_mul_ps(b, s)));
                _mm256_storeu_ps(xb + i, _mm256_fmadd_ps(a, s, _mm256_mul_ps(b, c)));
            }
            for (; i < n_pairs; i++) {
                const float a = xh[i], b = xb[i], c = cosv[i], s = sg * sinv[i];
                xh[i] = a * c - b * s;
                xb[i] = a * s + b * c;
            }
        } else {
            for (; i + 4 <= n_pairs; i += 4) {
                const __m256 v = _mm256_loadu_ps(xh + 2 * i);
                const __m256 sw = _mm256_permute_ps(v, 0xB1); /* [b0 a0 b1 a1 ..] */
                const __m256 cc = _mm256_load_ps(cexp + 2 * i), ss = _mm256_load_ps(sexp + 2 * i);
                _mm256_storeu_ps(xh + 2 * i, _mm256_fmadd_ps(v, cc, _mm256_mul_ps(sw, ss)));
            }
            for (; i < n_pairs; i++) {
                const float a = xh[2 * i], b = xh[2 * i + 1], c = cosv[i], s = sg * sinv[i];
                xh[2 * i] = a * c - b * s;
                xh[2 * i + 1] = a * s + b * c;
            }
        }
    }
}
