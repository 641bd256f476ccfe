/*
 * AVX2/FMA kernel of the Gated DeltaNet recurrent step (deltanet.c; compiled
 * with -mavx2 -mfma -mf16c, called only when the CPU has them and d_v is a
 * multiple of 8). Two passes over the state S [d_k][d_v] instead of three,
 * in column blocks of 32 (four registers of accumulators):
 *   pass 1  kv = S^T k
 *   pass 2  delta = beta (v - e kv);  S = e S + k delta^T;  o = S^T q
 */
#include <immintrin.h>

#include "attn/deltanet_kernels.h"

void lc_dn_step_avx2(float *S, int32_t dk, int32_t dv, const float *k, const float *q, const float *v, float e,
                     float beta, float *o) {
    const __m256 ve = _mm256_set1_ps(e), vb = _mm256_set1_ps(beta);
    for (int32_t j = 0; j < dv; j += 32) {
        const int32_t w = dv - j >= 32 ? 4 : (dv - j) / 8; /* registers in this block (dv % 8 == 0) */
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int32_t i = 0; i < dk; i++) {
            const __m256 ki = _mm256_broadcast_ss(k + i);
            const float *row = S + (size_t)i * dv + j;
            for (int32_t u = 0; u < w; u++) a[u] = _mm256_fmadd_ps(ki, _mm256_loadu_ps(row + 8 * u), a[u]);
        }
        /* a = delta = beta (v - e kv) */
        for (int32_t u = 0; u < w; u++)
            a[u] = _mm256_mul_ps(vb, _mm256_fnmadd_ps(ve, a[u], _mm256_loadu_ps(v + j + 8 * u)));
        __m256 r[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int32_t i = 0; i < dk; i++) {
            const __m256 ki = _mm256_broadcast_ss(k + i), qi = _mm256_broadcast_ss(q + i);
            float *row = S + (size_t)i * dv + j;
            for (int32_t u = 0; u < w; u++) {
                const __m256 sn = _mm256_fmadd_ps(ki, a[u], _mm256_mul_ps(ve, _mm256_loadu_ps(row + 8 * u)));
                _mm256_storeu_ps(row + 8 * u, sn);
                r[u] = _mm256_fmadd_ps(qi, sn, r[u]);
            }
        }
        for (int32_t u = 0; u < w; u++) _mm256_storeu_ps(o + j + 8 * u, r[u]);
    }
}
