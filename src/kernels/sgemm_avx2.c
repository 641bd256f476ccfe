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

/* The same tile with A read in place: element (row r, depth k) of the 6-row
 * A block at a[r * rs + k * ks], broadcast one at a time; only B is packed.
 * (rs, ks) = (lda, 1) reads six rows of a row-major A, (1, lda) six columns
 * (a transposed A). */
void lc_sgemm_kernel_6x16_strided_avx2(int64_t kc, const float *a, int64_t rs, int64_t ks, const float *b, float *c,
                                       int64_t ldc, float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    const float *a0 = a, *a1 = a + rs, *a2 = a + 2 * rs, *a3 = a + 3 * rs, *a4 = a + 4 * rs, *a5 = a + 5 * rs;
    for (int r = 0; r < 6; r++) _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
    for (int64_t k = 0, o = 0; k < kc; k++, o += ks) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x = _mm256_broadcast_ss(a0 + o);
        c00 = _mm256_fmadd_ps(x, b0, c00);
        c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + o);
        c10 = _mm256_fmadd_ps(x, b0, c10);
        c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + o);
        c20 = _mm256_fmadd_ps(x, b0, c20);
        c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + o);
        c30 = _mm256_fmadd_ps(x, b0, c30);
        c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + o);
        c40 = _mm256_fmadd_ps(x, b0, c40);
        c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + o);
        c50 = _mm256_fmadd_ps(x, b0, c50);
        c51 = _mm256_fmadd_ps(x, b1, c51);
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

/* In-register transpose of eight rows of eight floats. */
static inline void transpose8(__m256 r[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

void lc_sgemm_pack_rows_avx2(const float *src, int64_t ld, int n_rows, int64_t kc, float *dst) {
    const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        for (int g = 0; g < n_rows; g += 8) { /* rows g..g+7 (6 rows: two zero rows) */
            __m256 r[8];
            const int n = n_rows - g < 8 ? n_rows - g : 8;
            for (int i = 0; i < 8; i++)
                r[i] = i < n ? _mm256_loadu_ps(src + (size_t)(g + i) * (size_t)ld + (size_t)k) : _mm256_setzero_ps();
            transpose8(r); /* r[j] = column k + j of rows g..g+7 */
            float *d = dst + (size_t)k * (size_t)n_rows + (size_t)g;
            if (n == 8) {
                for (int j = 0; j < 8; j++) _mm256_storeu_ps(d + (size_t)j * (size_t)n_rows, r[j]);
            } else { /* 6 of 8 lanes per column */
                for (int j = 0; j < 8; j++) _mm256_maskstore_ps(d + (size_t)j * (size_t)n_rows, six, r[j]);
            }
        }
    }
    for (; k < kc; k++)
        for (int i = 0; i < n_rows; i++) dst[k * n_rows + i] = src[(size_t)i * (size_t)ld + (size_t)k];
}
