/*
 * AVX2/FMA versions of the kernels in linear_kernels.h (compiled with
 * -mavx2 -mfma -mf16c; called only when the CPU has them).
 *
 * The matrix product uses 4 x 16 register tiles: per k, two loads of B,
 * four broadcasts of A and eight FMAs into eight accumulators (rows left
 * over: 1 x 16 tiles). An output element's value depends only on its row's
 * tile kind (4-row tile or single row), never on threads.
 */
#include <immintrin.h>
#include <math.h>

#include "attn/linear_kernels.h"

#define LK_INLINE static inline __attribute__((always_inline))

/* Lanes [0, n) set, n in 0..8. */
LK_INLINE __m256i lane_mask(int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

/* The 4 x 16 tile, accumulators spelled out so that they stay in registers.
 * mask: NULL for 16 full columns, else the lane masks of the two halves
 * (a column tail of fewer than 16). */
LK_INLINE void tile4(int64_t K, const float *a, size_t rs, size_t cs, const float *b, size_t ldb, float *c, size_t ldc,
                     bool acc, bool masked, __m256i m0, __m256i m1) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    const float *a0 = a, *a1 = a + rs, *a2 = a + 2 * rs, *a3 = a + 3 * rs;
    for (int64_t k = 0; k < K; k++) {
        const float *bk = b + (size_t)k * ldb;
        const __m256 b0 = masked ? _mm256_maskload_ps(bk, m0) : _mm256_loadu_ps(bk);
        const __m256 b1 = masked ? _mm256_maskload_ps(bk + 8, m1) : _mm256_loadu_ps(bk + 8);
        const size_t ko = (size_t)k * cs;
        __m256 av = _mm256_broadcast_ss(a0 + ko);
        c00 = _mm256_fmadd_ps(av, b0, c00);
        c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a1 + ko);
        c10 = _mm256_fmadd_ps(av, b0, c10);
        c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a2 + ko);
        c20 = _mm256_fmadd_ps(av, b0, c20);
        c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a3 + ko);
        c30 = _mm256_fmadd_ps(av, b0, c30);
        c31 = _mm256_fmadd_ps(av, b1, c31);
    }
#define LK_STORE(row, x0, x1)                                                                                  \
    do {                                                                                                       \
        float *cr = c + (size_t)(row) * ldc;                                                                   \
        if (masked) {                                                                                          \
            if (acc) {                                                                                         \
                x0 = _mm256_add_ps(_mm256_maskload_ps(cr, m0), x0);                                            \
                x1 = _mm256_add_ps(_mm256_maskload_ps(cr + 8, m1), x1);                                        \
            }                                                                                                  \
            _mm256_maskstore_ps(cr, m0, x0);                                                                   \
            _mm256_maskstore_ps(cr + 8, m1, x1);                                                               \
        } else {                                                                                               \
            if (acc) {                                                                                         \
                x0 = _mm256_add_ps(_mm256_loadu_ps(cr), x0);                                                   \
                x1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), x1);                                               \
            }                                                                                                  \
            _mm256_storeu_ps(cr, x0);                                                                          \
            _mm256_storeu_ps(cr + 8, x1);                                                                      \
        }                                                                                                      \
    } while (0)
    LK_STORE(0, c00, c01);
    LK_STORE(1, c10, c11);
    LK_STORE(2, c20, c21);
    LK_STORE(3, c30, c31);
}

/* One row x 16 columns (rows left over after the 4-row tiles). */
LK_INLINE void tile1(int64_t K, const float *a, size_t cs, const float *b, size_t ldb, float *c, bool acc, bool masked,
                     __m256i m0, __m256i m1) {
    __m256 x0 = _mm256_setzero_ps(), x1 = x0, y0 = x0, y1 = x0;
    int64_t k = 0;
    /* two independent chains over even and odd k, summed at the end */
    for (; k + 2 <= K; k += 2) {
        const float *bk = b + (size_t)k * ldb;
        const __m256 b0 = masked ? _mm256_maskload_ps(bk, m0) : _mm256_loadu_ps(bk);
        const __m256 b1 = masked ? _mm256_maskload_ps(bk + 8, m1) : _mm256_loadu_ps(bk + 8);
        const __m256 b2 = masked ? _mm256_maskload_ps(bk + ldb, m0) : _mm256_loadu_ps(bk + ldb);
        const __m256 b3 = masked ? _mm256_maskload_ps(bk + ldb + 8, m1) : _mm256_loadu_ps(bk + ldb + 8);
        const __m256 av = _mm256_broadcast_ss(a + (size_t)k * cs), aw = _mm256_broadcast_ss(a + (size_t)(k + 1) * cs);
        x0 = _mm256_fmadd_ps(av, b0, x0);
        x1 = _mm256_fmadd_ps(av, b1, x1);
        y0 = _mm256_fmadd_ps(aw, b2, y0);
        y1 = _mm256_fmadd_ps(aw, b3, y1);
    }
    if (k < K) {
        const float *bk = b + (size_t)k * ldb;
        const __m256 b0 = masked ? _mm256_maskload_ps(bk, m0) : _mm256_loadu_ps(bk);
        const __m256 b1 = masked ? _mm256_maskload_ps(bk + 8, m1) : _mm256_loadu_ps(bk + 8);
        const __m256 av = _mm256_broadcast_ss(a + (size_t)k * cs);
        x0 = _mm256_fmadd_ps(av, b0, x0);
        x1 = _mm256_fmadd_ps(av, b1, x1);
    }
    x0 = _mm256_add_ps(x0, y0);
    x1 = _mm256_add_ps(x1, y1);
    const size_t ldc = 0; /* one row: LK_STORE's row stride is unused */
    LK_STORE(0, x0, x1);
#undef LK_STORE
}

void lc_lin_gemm_avx2(int64_t M, int64_t N, int64_t K, const float *a, size_t a_rs, size_t a_cs, const float *b,
                      size_t ldb, float *c, size_t ldc, bool accumulate) {
    const __m256i ones = _mm256_set1_epi32(-1);
    const int64_t N16 = N & ~(int64_t)15;
    const int tail = (int)(N - N16);
    const __m256i t0 = lane_mask(tail < 8 ? tail : 8), t1 = lane_mask(tail > 8 ? tail - 8 : 0);
    int64_t i = 0;
    for (; i + 4 <= M; i += 4) {
        const float *ai = a + (size_t)i * a_rs;
        float *ci = c + (size_t)i * ldc;
        for (int64_t j = 0; j < N16; j += 16) tile4(K, ai, a_rs, a_cs, b + j, ldb, ci + j, ldc, accumulate, false, ones, ones);
        if (tail) tile4(K, ai, a_rs, a_cs, b + N16, ldb, ci + N16, ldc, accumulate, true, t0, t1);
    }
    for (; i < M; i++) {
        const float *ai = a + (size_t)i * a_rs;
        float *ci = c + (size_t)i * ldc;
        for (int64_t j = 0; j < N16; j += 16) tile1(K, ai, a_cs, b + j, ldb, ci + j, accumulate, false, ones, ones);
        if (tail) tile1(K, ai, a_cs, b + N16, ldb, ci + N16, accumulate, true, t0, t1);
    }
}

/* exp on 8 lanes: n = round(x log2 e), r = x - n ln2 (two-part ln2),
 * exp(r) by the Cephes degree-5 polynomial, times 2^n built in the exponent
 * field. Inputs below -87.3 (and -inf) give 0; NaN stays NaN. */
LK_INLINE __m256 exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f), hi = _mm256_set1_ps(88.3f);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(lo, _mm256_min_ps(hi, x)); /* NaN in x passes through */
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
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

void lc_lin_exp_avx2(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        const __m256i m = lane_mask((int)(n - i));
        _mm256_maskstore_ps(x + i, m, exp8(_mm256_maskload_ps(x + i, m)));
    }
}

LK_INLINE __m256 elu1_8(__m256 x) {
    const __m256 zero = _mm256_setzero_ps();
    const __m256 pos = _mm256_cmp_ps(x, zero, _CMP_GT_OQ);
    const __m256 e = exp8(_mm256_min_ps(zero, x));
    return _mm256_blendv_ps(e, _mm256_add_ps(x, _mm256_set1_ps(1.0f)), pos);
}

void lc_lin_elu1_avx2(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, elu1_8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        const __m256i m = lane_mask((int)(n - i));
        _mm256_maskstore_ps(y + i, m, elu1_8(_mm256_maskload_ps(x + i, m)));
    }
}

void lc_lin_relu_avx2(const float *x, float *y, int64_t n) {
    const __m256 zero = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_max_ps(_mm256_loadu_ps(x + i), zero));
    if (i < n) {
        const __m256i m = lane_mask((int)(n - i));
        _mm256_maskstore_ps(y + i, m, _mm256_max_ps(_mm256_maskload_ps(x + i, m), zero));
    }
}

LK_INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

float lc_lin_dot_avx2(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    if (i < n) {
        const __m256i m = lane_mask((int)(n - i));
        s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
    }
    return hsum8(_mm256_add_ps(s0, s1));
}

float lc_lin_sum_avx2(const float *a, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_ps(_mm256_loadu_ps(a + i), s0);
        s1 = _mm256_add_ps(_mm256_loadu_ps(a + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_add_ps(_mm256_loadu_ps(a + i), s0);
    if (i < n) s1 = _mm256_add_ps(_mm256_maskload_ps(a + i, lane_mask((int)(n - i))), s1);
    return hsum8(_mm256_add_ps(s0, s1));
}

float lc_lin_max_avx2(const float *a, int64_t n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(a + i));
    float r;
    {
        __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        s = _mm_max_ss(s, _mm_movehdup_ps(s));
        r = _mm_cvtss_f32(s);
    }
    for (; i < n; i++)
        if (a[i] > r) r = a[i];
    return r;
}

void lc_lin_scale_avx2(float *x, int64_t n, float alpha) {
    const __m256 av = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), av));
    for (; i < n; i++) x[i] *= alpha;
}

void lc_lin_add_scalar_avx2(float *x, int64_t n, float alpha) {
    const __m256 av = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_add_ps(_mm256_loadu_ps(x + i), av));
    for (; i < n; i++) x[i] += alpha;
}

void lc_lin_axpby_avx2(float *y, const float *x, int64_t n, float alpha, float beta) {
    const __m256 av = _mm256_set1_ps(alpha), bv = _mm256_set1_ps(beta);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_loadu_ps(x + i), bv, _mm256_mul_ps(_mm256_loadu_ps(y + i), av)));
    for (; i < n; i++) y[i] = fmaf(x[i], beta, y[i] * alpha);
}

/* 8 x 8 in-register transpose of rows r[0..7]. */
LK_INLINE void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

void lc_lin_transpose_avx2(const float *src, size_t lds, int64_t rows, int64_t cols, float *dst, size_t ldd) {
    int64_t i = 0;
    for (; i + 8 <= rows; i += 8) {
        int64_t j = 0;
        for (; j + 8 <= cols; j += 8) {
            __m256 r[8];
            for (int t = 0; t < 8; t++) r[t] = _mm256_loadu_ps(src + (size_t)(i + t) * lds + (size_t)j);
            transpose8(r);
            for (int t = 0; t < 8; t++) _mm256_storeu_ps(dst + (size_t)(j + t) * ldd + (size_t)i, r[t]);
        }
        for (; j < cols; j++)
            for (int t = 0; t < 8; t++) dst[(size_t)j * ldd + (size_t)(i + t)] = src[(size_t)(i + t) * lds + (size_t)j];
    }
    for (; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) dst[(size_t)j * ldd + (size_t)i] = src[(size_t)i * lds + (size_t)j];
}

void lc_lin_acc_f64_avx2(double *acc, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_pd(acc + i, _mm256_add_pd(_mm256_loadu_pd(acc + i), _mm256_cvtps_pd(_mm256_castps256_ps128(v))));
        _mm256_storeu_pd(acc + i + 4,
                         _mm256_add_pd(_mm256_loadu_pd(acc + i + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))));
    }
    for (; i < n; i++) acc[i] += x[i];
}
