/*
 * The AVX2/FMA register micro-kernel of lc_sgemm: a 6 x 16 tile of C held in
 * 12 ymm accumulators, fed by packed panels (a: 6 floats per k, b: 16 floats
 * per k). Compiled with -mavx2 -mfma; called only when lc_isa_best() says so.
 */
#include <immintrin.h>

#include "kernels/sgemm.h"

/* One k step: two B vectors, six broadcasts of A, twelve FMAs. */
#define SGEMM_STEP(aa, bb)                                                  \
    do {                                                                    \
        const __m256 b0_ = _mm256_loadu_ps(bb), b1_ = _mm256_loadu_ps((bb) + 8); \
        __m256 a_ = _mm256_broadcast_ss((aa) + 0);                          \
        c00 = _mm256_fmadd_ps(a_, b0_, c00);                                \
        c01 = _mm256_fmadd_ps(a_, b1_, c01);                                \
        a_ = _mm256_broadcast_ss((aa) + 1);                                 \
        c10 = _mm256_fmadd_ps(a_, b0_, c10);                                \
        c11 = _mm256_fmadd_ps(a_, b1_, c11);                                \
        a_ = _mm256_broadcast_ss((aa) + 2);                                 \
        c20 = _mm256_fmadd_ps(a_, b0_, c20);                                \
        c21 = _mm256_fmadd_ps(a_, b1_, c21);                                \
        a_ = _mm256_broadcast_ss((aa) + 3);                                 \
        c30 = _mm256_fmadd_ps(a_, b0_, c30);                                \
        c31 = _mm256_fmadd_ps(a_, b1_, c31);                                \
        a_ = _mm256_broadcast_ss((aa) + 4);                                 \
        c40 = _mm256_fmadd_ps(a_, b0_, c40);                                \
        c41 = _mm256_fmadd_ps(a_, b1_, c41);                                \
        a_ = _mm256_broadcast_ss((aa) + 5);                                 \
        c50 = _mm256_fmadd_ps(a_, b0_, c50);                                \
        c51 = _mm256_fmadd_ps(a_, b1_, c51);                                \
    } while (0)

static inline void store_row(float *c, __m256 lo, __m256 hi, __m256 va, __m256 vb, int use_beta) {
    lo = _mm256_mul_ps(lo, va);
    hi = _mm256_mul_ps(hi, va);
    if (use_beta) {
        lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), lo);
        hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), hi);
    }
    _mm256_storeu_ps(c, lo);
    _mm256_storeu_ps(c + 8, hi);
}

void lc_sgemm_kernel_6x16_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float alpha,
                               float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int r = 0; r < 6; r++) _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        _mm_prefetch((const char *)(b + 16 * 8), _MM_HINT_T0);
        SGEMM_STEP(a, b);
        SGEMM_STEP(a + 6, b + 16);
        SGEMM_STEP(a + 12, b + 32);
        SGEMM_STEP(a + 18, b + 48);
        a += 24;
        b += 64;
    }
    for (; k < kc; k++) {
        SGEMM_STEP(a, b);
        a += 6;
        b += 16;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const int use_beta = beta != 0.0f;
    store_row(c + 0 * ldc, c00, c01, va, vb, use_beta);
    store_row(c + 1 * ldc, c10, c11, va, vb, use_beta);
    store_row(c + 2 * ldc, c20, c21, va, vb, use_beta);
    store_row(c + 3 * ldc, c30, c31, va, vb, use_beta);
    store_row(c + 4 * ldc, c40, c41, va, vb, use_beta);
    store_row(c + 5 * ldc, c50, c51, va, vb, use_beta);
}
