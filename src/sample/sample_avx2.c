/*
 * AVX2 scan of a logits row for the sampler: the max, the count of -inf
 * (masked) entries, and whether any entry is NaN or +inf. Same results as
 * the scalar loop in sampler.c; call only when lc_isa_best() >= AVX2.
 */
#include <immintrin.h>
#include <math.h>

#include "sample/sample_internal.h"

void lc_sample_scan_avx2(const float *x, int32_t n, float *mx_out, int32_t *masked_out, bool *bad_out) {
    const __m256 pinf = _mm256_set1_ps(INFINITY), ninf = _mm256_set1_ps(-INFINITY);
    __m256 mx = ninf, bad = _mm256_setzero_ps();
    __m256i masked = _mm256_setzero_si256();
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        bad = _mm256_or_ps(bad, _mm256_or_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), _mm256_cmp_ps(v, pinf, _CMP_EQ_OQ)));
        /* a true compare is all ones = -1 */
        masked = _mm256_sub_epi32(masked, _mm256_castps_si256(_mm256_cmp_ps(v, ninf, _CMP_EQ_OQ)));
        mx = _mm256_max_ps(v, mx); /* NaN in v yields mx */
    }
    float lanes[8];
    int32_t counts[8];
    _mm256_storeu_ps(lanes, mx);
    _mm256_storeu_si256((__m256i *)counts, masked);
    float m = -INFINITY;
    int32_t c = 0;
    for (int k = 0; k < 8; k++) {
        m = lanes[k] > m ? lanes[k] : m;
        c += counts[k];
    }
    bool any_bad = _mm256_movemask_ps(bad) != 0;
    for (; i < n; i++) {
        const float v = x[i];
        any_bad |= isnan(v) || v == INFINITY;
        c += v == -INFINITY;
        m = v > m ? v : m;
    }
    *mx_out = m;
    *masked_out = c;
    *bad_out = any_bad;
}
