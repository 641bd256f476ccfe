/*
 * AVX2/FMA kernel of the Gated DeltaNet recurrent step (deltanet.c; compiled
 * with -mavx2 -mfma -mf16c, called only when the CPU has them and d_v is a
 * multiple of 8). Two passes over the state S [d_k][d_v] instead of three,
 * per block of 64 columns (8 independent accumulators, so the FMA latency is
 * hidden; a remaining d_v % 64 goes 8 columns at a time):
 *   pass 1  delta = beta (v - e S^T k)
 *   pass 2  S = e S + k delta^T  and  o = S^T q  in the same sweep
 */
#include <immintrin.h>

#include "attn/deltanet_kernels.h"

#define DN_INLINE static inline __attribute__((always_inline))

/* 64 columns [j, j + 64). */
DN_INLINE void block64(float *S, int32_t dk, int32_t dv, int32_t j, const float *k, const float *q, const float *v,
                       __m256 ve, __m256 vb, float *o) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int32_t i = 0; i < dk; i++) {
        const __m256 ki = _mm256_broadcast_ss(k + i);
        const float *r = S + (size_t)i * dv + j;
        a0 = _mm256_fmadd_ps(ki, _mm256_loadu_ps(r), a0);
        a1 = _mm256_fmadd_ps(ki, _mm256_loadu_ps(r + 8), a1);
        a2 = _mm256_fmadd_ps(ki, _mm256_loadu_ps(r + 16), a2);
        a3 = _mm256_fmadd_ps(ki, _mm256_loadu_ps(r + 24), a3);
        a4 = _mm256_fmadd_ps(ki, _mm256_loadu_ps(r + 32), a4);
        a5 = _mm256_fmadd_ps(ki, _mm256_loadu_ps(r + 40), a5);
        a6 = _mm256_fmadd_ps(ki, _mm256_loadu_ps(r + 48), a6);
        a7 = _mm256_fmadd_ps(ki, _mm256_loadu_ps(r + 56), a7);
    }
    float delta[64];
#define DN_DELTA(u, a) _mm256_storeu_ps(delta + 8 * (u), _mm256_mul_ps(vb, _mm256_fnmadd_ps(ve, a, _mm256_loadu_ps(v + j + 8 * (u)))))
    DN_DELTA(0, a0);
    DN_DELTA(1, a1);
    DN_DELTA(2, a2);
    DN_DELTA(3, a3);
    DN_DELTA(4, a4);
    DN_DELTA(5, a5);
    DN_DELTA(6, a6);
    DN_DELTA(7, a7);
#undef DN_DELTA
    a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (int32_t i = 0; i < dk; i++) {
        const __m256 ki = _mm256_broadcast_ss(k + i), qi = _mm256_broadcast_ss(q + i);
        float *r = S + (size_t)i * dv + j;
#define DN_UPD(u, acc)                                                                                              \
    do {                                                                                                            \
        const __m256 sn = _mm256_fmadd_ps(ki, _mm256_loadu_ps(delta + 8 * (u)), _mm256_mul_ps(ve, _mm256_loadu_ps(r + 8 * (u)))); \
        _mm256_storeu_ps(r + 8 * (u), sn);                                                                          \
        acc = _mm256_fmadd_ps(qi, sn, acc);                                                                         \
    } while (0)
        DN_UPD(0, a0);
        DN_UPD(1, a1);
        DN_UPD(2, a2);
        DN_UPD(3, a3);
        DN_UPD(4, a4);
        DN_UPD(5, a5);
        DN_UPD(6, a6);
        DN_UPD(7, a7);
#undef DN_UPD
    }
    _mm256_storeu_ps(o + j, a0);
    _mm256_storeu_ps(o + j + 8, a1);
    _mm256_storeu_ps(o + j + 16, a2);
    _mm256_storeu_ps(o + j + 24, a3);
    _mm256_storeu_ps(o + j + 32, a4);
    _mm256_storeu_ps(o + j + 40, a5);
    _mm256_storeu_ps(o + j + 48, a6);
    _mm256_storeu_ps(o + j + 56, a7);
}

/* 8 columns [j, j + 8). */
DN_INLINE void block8(float *S, int32_t dk, int32_t dv, int32_t j, const float *k, const float *q, const float *v,
                      __m256 ve, __m256 vb, float *o) {
    __m256 a = _mm256_setzero_ps();
    for (int32_t i = 0; i < dk; i++) a = _mm256_fmadd_ps(_mm256_broadcast_ss(k + i), _mm256_loadu_ps(S + (size_t)i * dv + j), a);
    const __m256 delta = _mm256_mul_ps(vb, _mm256_fnmadd_ps(ve, a, _mm256_loadu_ps(v + j)));
    a = _mm256_setzero_ps();
    for (int32_t i = 0; i < dk; i++) {
        float *r = S + (size_t)i * dv + j;
        const __m256 sn = _mm256_fmadd_ps(_mm256_broadcast_ss(k + i), delta, _mm256_mul_ps(ve, _mm256_loadu_ps(r)));
        _mm256_storeu_ps(r, sn);
        a = _mm256_fmadd_ps(_mm256_broadcast_ss(q + i), sn, a);
    }
    _mm256_storeu_ps(o + j, a);
}

void lc_dn_step_avx2(float *S, int32_t dk, int32_t dv, const float *k, const float *q, const float *v, float e,
                     float beta, float *o) {
    const __m256 ve = _mm256_set1_ps(e), vb = _mm256_set1_ps(beta);
    int32_t j = 0;
    for (; j + 64 <= dv; j += 64) block64(S, dk, dv, j, k, q, v, ve, vb, o);
    for (; j < dv; j += 8) block8(S, dk, dv, j, k, q, v, ve, vb, o);
}
