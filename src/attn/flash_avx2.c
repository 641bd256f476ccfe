/*
 * AVX2/FMA/F16C tile kernels of the FLASH engine (compiled with -mavx2 -mfma
 * -mf16c; reached only through lc_flash_kernels_for(LC_ISA_AVX2)). Layouts in
 * flash_engine.h.
 *
 * Register blocking (16 ymm registers):
 *   scores  6 keys x 16 query rows: 12 accumulators; per t, two loads of
 *           qt[t][c..c+15] and six broadcasts of k[j][t] feed 12 FMAs.
 *   pv      6 query rows x 16 output dims: 12 accumulators; per key j, two
 *           loads of v[j][t..t+15] and six broadcasts of P^T[j][r] feed 12 FMAs.
 * Both kernels are written once for MR = 1..6 rows and 1 or 2 vectors and
 * instantiated with constants, so the remainders run register-blocked too.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "attn/flash_engine.h"

#define LC_INLINE static inline __attribute__((always_inline))

/* ---- exp2 ------------------------------------------------------------------
 * 2^x = 2^n * 2^f with n = round(x), f in [-0.5, 0.5]; 2^f by a degree-6
 * polynomial fitted for minimal relative error (tools/fit_exp2_poly.py:
 * 1.9e-9 in exact arithmetic, ~1e-7 in float Horner). x is clamped to
 * [-127, 127]: n = -127 builds the float 0, so -inf and anything below
 * -126.5 give exactly 0 (the engine only needs x <= 0). */
#define EXP2_C0 1.0f
#define EXP2_C1 0.6931471824645996f
#define EXP2_C2 0.24022646248340607f
#define EXP2_C3 0.05550328642129898f
#define EXP2_C4 0.009618489071726799f
#define EXP2_C5 0.0013399932067841291f
#define EXP2_C6 0.00015345893916673958f

LC_INLINE __m256 exp2_ps(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-127.0f)); /* also maps NaN and -inf to -127 */
    x = _mm256_min_ps(x, _mm256_set1_ps(127.0f));
    const __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 f = _mm256_sub_ps(x, n);
    __m256 p = _mm256_set1_ps(EXP2_C6);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(EXP2_C5));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(EXP2_C4));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(EXP2_C3));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(EXP2_C2));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(EXP2_C1));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(EXP2_C0));
    /* 2^n as float bits: (n + 127) << 23; n = -127 gives +0. */
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static void exp2_row_avx2(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp2_ps(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float buf[8] = {0};
        memcpy(buf, x + i, (size_t)(n - i) * sizeof(float));
        _mm256_storeu_ps(buf, exp2_ps(_mm256_loadu_ps(buf)));
        memcpy(y + i, buf, (size_t)(n - i) * sizeof(float));
    }
}

/* ---- S^T = K Q^T --------------------------------------------------------- */
/* Keys j0..j0+MR-1 against query columns c..c+8*NV-1. */
LC_INLINE void scores_block(const float *qt, size_t rp, int32_t d, const float *k, size_t ks, int MR, int NV,
                            float *st) {
    __m256 acc[6][2];
    const float *kr[6];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        kr[i] = k + (size_t)i * ks;
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
    for (int32_t t = 0; t < d; t++) {
        const float *q = qt + (size_t)t * rp;
        const __m256 b0 = _mm256_loadu_ps(q);
        const __m256 b1 = NV > 1 ? _mm256_loadu_ps(q + 8) : b0;
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            const __m256 a = _mm256_broadcast_ss(kr[i] + t);
            acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
            if (NV > 1) acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        _mm256_storeu_ps(st + (size_t)i * rp, acc[i][0]);
        if (NV > 1) _mm256_storeu_ps(st + (size_t)i * rp + 8, acc[i][1]);
    }
}

#define SCORES_FN(MR, NV)                                                                                              \
    static void scores_##MR##_##NV(const float *qt, size_t rp, int32_t d, const float *k, size_t ks, float *st) {      \
        scores_block(qt, rp, d, k, ks, MR, NV, st);                                                                    \
    }
SCORES_FN(1, 1) SCORES_FN(2, 1) SCORES_FN(3, 1) SCORES_FN(4, 1) SCORES_FN(5, 1) SCORES_FN(6, 1)
SCORES_FN(1, 2) SCORES_FN(2, 2) SCORES_FN(3, 2) SCORES_FN(4, 2) SCORES_FN(5, 2) SCORES_FN(6, 2)

typedef void (*scores_fn)(const float *, size_t, int32_t, const float *, size_t, float *);
static const scores_fn scores_fns[2][7] = {
    {NULL, scores_1_1, scores_2_1, scores_3_1, scores_4_1, scores_5_1, scores_6_1},
    {NULL, scores_1_2, scores_2_2, scores_3_2, scores_4_2, scores_5_2, scores_6_2},
};

static void scores_avx2(const float *qt, int32_t rp, int32_t d, const float *k, size_t ks, int32_t nk, float *st) {
    /* Column panels of 16 query rows (then one of 8): the panel of qt
     * (d x 16 floats) stays in L1 while the key rows stream past it. */
    for (int32_t c = 0; c < rp; c += 16) {
        const int nv = rp - c >= 16 ? 2 : 1;
        int32_t j = 0;
        for (; j + 6 <= nk; j += 6)
            scores_fns[nv - 1][6](qt + c, (size_t)rp, d, k + (size_t)j * ks, ks, st + (size_t)j * rp + c);
        if (j < nk) scores_fns[nv - 1][nk - j](qt + c, (size_t)rp, d, k + (size_t)j * ks, ks, st + (size_t)j * rp + c);
    }
}

/* ---- S^T for blocks of 1..4 query rows (decode): dot products along d ------ */
/* Sum of each of n <= 8 vectors, into out[0..n). */
LC_INLINE void hsum8(const __m256 *a, int n, float *out) {
    __m256 v[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) v[i] = i < n ? a[i] : _mm256_setzero_ps();
    const __m256 h01 = _mm256_hadd_ps(v[0], v[1]), h23 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 h45 = _mm256_hadd_ps(v[4], v[5]), h67 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 q0 = _mm256_hadd_ps(h01, h23), q1 = _mm256_hadd_ps(h45, h67);
    /* q0 = [s0 s1 s2 s3 | s0' s1' s2' s3'] (halves), same for q1 with s4..s7 */
    const __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20), _mm256_permute2f128_ps(q0, q1, 0x31));
    float tmp[8];
    _mm256_storeu_ps(tmp, sum);
    for (int i = 0; i < n; i++) out[i] = tmp[i];
}

/* Eight elements of a K or V row as f32: f32 in place or f16 through F16C. */
LC_INLINE __m256 load8(const void *base, size_t i, int F16) {
    if (F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + i)));
    return _mm256_loadu_ps((const float *)base + i);
}

/* Keys j0..j0+MR-1 against query rows 0..R-1 (MR * R <= 12 accumulators);
 * k rows ks elements apart, f32 or (F16) f16. */
LC_INLINE void dot_block(const float *q, int32_t d, const void *k, size_t ks, int R, int MR, int F16, float *st,
                         size_t rp) {
    __m256 acc[12];
#pragma GCC unroll 12
    for (int i = 0; i < MR * R; i++) acc[i] = _mm256_setzero_ps();
    const int32_t d8 = d & ~7;
    for (int32_t t = 0; t < d8; t += 8) {
        __m256 kv[8];
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) kv[i] = load8(k, (size_t)i * ks + (size_t)t, F16);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const __m256 qv = _mm256_loadu_ps(q + (size_t)r * d + t);
#pragma GCC unroll 8
            for (int i = 0; i < MR; i++) acc[i * R + r] = _mm256_fmadd_ps(kv[i], qv, acc[i * R + r]);
        }
    }
    float sums[16];
    hsum8(acc, MR * R < 8 ? MR * R : 8, sums);
    if (MR * R > 8) hsum8(acc + 8, MR * R - 8, sums + 8);
    for (int i = 0; i < MR; i++)
        for (int r = 0; r < R; r++) {
            float s = sums[i * R + r];
            for (int32_t t = d8; t < d; t++) /* f32 only: f16 rows have d % 16 == 0 */
                s += ((const float *)k)[(size_t)i * ks + t] * q[(size_t)r * d + t];
            st[(size_t)i * rp + r] = s;
        }
}

#define DOT_FN(R, MR, F16, SUF)                                                                                        \
    static void dot_##R##_##MR##SUF(const float *q, int32_t d, const void *k, size_t ks, float *st, size_t rp) {       \
        dot_block(q, d, k, ks, R, MR, F16, st, rp);                                                                    \
    }
DOT_FN(1, 8, 0, ) DOT_FN(1, 1, 0, ) DOT_FN(2, 6, 0, ) DOT_FN(2, 1, 0, )
DOT_FN(3, 4, 0, ) DOT_FN(3, 1, 0, ) DOT_FN(4, 3, 0, ) DOT_FN(4, 1, 0, )
DOT_FN(1, 8, 1, _h) DOT_FN(1, 1, 1, _h) DOT_FN(2, 6, 1, _h) DOT_FN(2, 1, 1, _h)
DOT_FN(3, 4, 1, _h) DOT_FN(3, 1, 1, _h) DOT_FN(4, 3, 1, _h) DOT_FN(4, 1, 1, _h)

typedef void (*dot_fn)(const float *, int32_t, const void *, size_t, float *, size_t);
static const dot_fn dot_wide[2][5] = {{NULL, dot_1_8, dot_2_6, dot_3_4, dot_4_3},
                                      {NULL, dot_1_8_h, dot_2_6_h, dot_3_4_h, dot_4_3_h}};
static const dot_fn dot_one[2][5] = {{NULL, dot_1_1, dot_2_1, dot_3_1, dot_4_1},
                                     {NULL, dot_1_1_h, dot_2_1_h, dot_3_1_h, dot_4_1_h}};
static const int dot_mr[5] = {0, 8, 6, 4, 3};

static void scores_rows_any(const float *q, int32_t rows, int32_t d, const void *k, size_t ks, size_t esize, int f16,
                            int32_t nk, float *st, int32_t rp) {
    const int mr = dot_mr[rows];
    int32_t j = 0;
    for (; j + mr <= nk; j += mr)
        dot_wide[f16][rows](q, d, (const char *)k + (size_t)j * ks * esize, ks, st + (size_t)j * rp, (size_t)rp);
    for (; j < nk; j++)
        dot_one[f16][rows](q, d, (const char *)k + (size_t)j * ks * esize, ks, st + (size_t)j * rp, (size_t)rp);
    for (j = 0; j < nk; j++)
        for (int32_t r = rows; r < rp; r++) st[(size_t)j * rp + r] = 0.0f;
}

static void scores_rows_avx2(const float *q, int32_t rows, int32_t d, const float *k, size_t ks, int32_t nk, float *st,
                             int32_t rp) {
    scores_rows_any(q, rows, d, k, ks, sizeof(float), 0, nk, st, rp);
}

static void scores_rows_f16_avx2(const float *q, int32_t rows, int32_t d, const uint16_t *k, size_t ks, int32_t nk,
                                 float *st, int32_t rp) {
    scores_rows_any(q, rows, d, k, ks, sizeof(uint16_t), 1, nk, st, rp);
}

/* ---- online softmax over a tile, 8 query rows at a time -------------------- */
static void softmax_avx2(float *st, int32_t nk, int32_t rp, float *m, float *l, float *alpha) {
    const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
    for (int32_t r = 0; r < rp; r += 8) {
        const __m256 m_old = _mm256_loadu_ps(m + r);
        __m256 mx0 = m_old, mx1 = neg_inf;
        int32_t j = 0;
        for (; j + 2 <= nk; j += 2) {
            mx0 = _mm256_max_ps(mx0, _mm256_loadu_ps(st + (size_t)j * rp + r));
            mx1 = _mm256_max_ps(mx1, _mm256_loadu_ps(st + (size_t)(j + 1) * rp + r));
        }
        if (j < nk) mx0 = _mm256_max_ps(mx0, _mm256_loadu_ps(st + (size_t)j * rp + r));
        const __m256 mx = _mm256_max_ps(mx0, mx1);
        /* Rows that have seen nothing subtract 0, so 2^(-inf - 0) = 0, not NaN. */
        const __m256 sub = _mm256_blendv_ps(mx, _mm256_setzero_ps(), _mm256_cmp_ps(mx, neg_inf, _CMP_EQ_OQ));
        const __m256 a = exp2_ps(_mm256_sub_ps(m_old, sub));
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        for (j = 0; j + 2 <= nk; j += 2) {
            float *p0 = st + (size_t)j * rp + r, *p1 = p0 + rp;
            const __m256 e0 = exp2_ps(_mm256_sub_ps(_mm256_loadu_ps(p0), sub));
            const __m256 e1 = exp2_ps(_mm256_sub_ps(_mm256_loadu_ps(p1), sub));
            _mm256_storeu_ps(p0, e0);
            _mm256_storeu_ps(p1, e1);
            s0 = _mm256_add_ps(s0, e0);
            s1 = _mm256_add_ps(s1, e1);
        }
        if (j < nk) {
            float *p0 = st + (size_t)j * rp + r;
            const __m256 e0 = exp2_ps(_mm256_sub_ps(_mm256_loadu_ps(p0), sub));
            _mm256_storeu_ps(p0, e0);
            s0 = _mm256_add_ps(s0, e0);
        }
        _mm256_storeu_ps(alpha + r, a);
        _mm256_storeu_ps(l + r, _mm256_fmadd_ps(_mm256_loadu_ps(l + r), a, _mm256_add_ps(s0, s1)));
        _mm256_storeu_ps(m + r, mx);
    }
}

/* ---- O = alpha O + P V ----------------------------------------------------- */
/* Rows r0..r0+MR-1, output dims t..t+15; v rows vs elements apart, f32 or
 * (F16) f16. */
LC_INLINE void pv_block(const float *st, size_t rp, int32_t nk, const void *v, size_t vs, const float *alpha, float *o,
                        size_t dp, int MR, int F16) {
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        const __m256 a = _mm256_broadcast_ss(alpha + i);
        acc[i][0] = _mm256_mul_ps(a, _mm256_loadu_ps(o + (size_t)i * dp));
        acc[i][1] = _mm256_mul_ps(a, _mm256_loadu_ps(o + (size_t)i * dp + 8));
    }
    for (int32_t j = 0; j < nk; j++) {
        const float *pj = st + (size_t)j * rp;
        const __m256 b0 = load8(v, (size_t)j * vs, F16), b1 = load8(v, (size_t)j * vs + 8, F16);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            const __m256 p = _mm256_broadcast_ss(pj + i);
            acc[i][0] = _mm256_fmadd_ps(p, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(p, b1, acc[i][1]);
        }
    }
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        _mm256_storeu_ps(o + (size_t)i * dp, acc[i][0]);
        _mm256_storeu_ps(o + (size_t)i * dp + 8, acc[i][1]);
    }
}

#define PV_FN(MR, F16, SUF)                                                                                            \
    static void pv_##MR##SUF(const float *st, size_t rp, int32_t nk, const void *v, size_t vs, const float *alpha,     \
                             float *o, size_t dp) {                                                                    \
        pv_block(st, rp, nk, v, vs, alpha, o, dp, MR, F16);                                                            \
    }
PV_FN(1, 0, ) PV_FN(2, 0, ) PV_FN(3, 0, ) PV_FN(4, 0, ) PV_FN(5, 0, ) PV_FN(6, 0, )
PV_FN(1, 1, _h) PV_FN(2, 1, _h) PV_FN(3, 1, _h) PV_FN(4, 1, _h) PV_FN(5, 1, _h) PV_FN(6, 1, _h)

typedef void (*pv_fn)(const float *, size_t, int32_t, const void *, size_t, const float *, float *, size_t);
static const pv_fn pv_fns[2][7] = {{NULL, pv_1, pv_2, pv_3, pv_4, pv_5, pv_6},
                                   {NULL, pv_1_h, pv_2_h, pv_3_h, pv_4_h, pv_5_h, pv_6_h}};

/* One query row (decode without GQA): 32 output dims at a time, even and odd
 * keys into separate accumulators, so 8 independent FMA chains hide the FMA
 * latency that a single row's 2-vector panel would expose. */
LC_INLINE void pv_row1(const float *st, size_t rp, int32_t nk, const void *v, size_t vs, float alpha, float *o,
                       int32_t dp, int F16) {
    const __m256 a = _mm256_set1_ps(alpha);
    int32_t t = 0;
    for (; t + 32 <= dp; t += 32) {
        __m256 e[4], f[4];
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) e[u] = _mm256_mul_ps(a, _mm256_loadu_ps(o + t + 8 * u)), f[u] = _mm256_setzero_ps();
        int32_t j = 0;
        for (; j + 2 <= nk; j += 2) {
            const __m256 p0 = _mm256_broadcast_ss(st + (size_t)j * rp),
                         p1 = _mm256_broadcast_ss(st + (size_t)(j + 1) * rp);
#pragma GCC unroll 4
            for (int u = 0; u < 4; u++) {
                e[u] = _mm256_fmadd_ps(p0, load8(v, (size_t)j * vs + (size_t)t + 8 * u, F16), e[u]);
                f[u] = _mm256_fmadd_ps(p1, load8(v, (size_t)(j + 1) * vs + (size_t)t + 8 * u, F16), f[u]);
            }
        }
        if (j < nk) {
            const __m256 p0 = _mm256_broadcast_ss(st + (size_t)j * rp);
#pragma GCC unroll 4
            for (int u = 0; u < 4; u++)
                e[u] = _mm256_fmadd_ps(p0, load8(v, (size_t)j * vs + (size_t)t + 8 * u, F16), e[u]);
        }
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) _mm256_storeu_ps(o + t + 8 * u, _mm256_add_ps(e[u], f[u]));
    }
    for (; t < dp; t += 16) { /* dp % 16 == 0 */
        __m256 e0 = _mm256_mul_ps(a, _mm256_loadu_ps(o + t)), e1 = _mm256_mul_ps(a, _mm256_loadu_ps(o + t + 8));
        __m256 f0 = _mm256_setzero_ps(), f1 = _mm256_setzero_ps();
        int32_t j = 0;
        for (; j + 2 <= nk; j += 2) {
            const __m256 p0 = _mm256_broadcast_ss(st + (size_t)j * rp),
                         p1 = _mm256_broadcast_ss(st + (size_t)(j + 1) * rp);
            e0 = _mm256_fmadd_ps(p0, load8(v, (size_t)j * vs + (size_t)t, F16), e0);
            e1 = _mm256_fmadd_ps(p0, load8(v, (size_t)j * vs + (size_t)t + 8, F16), e1);
            f0 = _mm256_fmadd_ps(p1, load8(v, (size_t)(j + 1) * vs + (size_t)t, F16), f0);
            f1 = _mm256_fmadd_ps(p1, load8(v, (size_t)(j + 1) * vs + (size_t)t + 8, F16), f1);
        }
        if (j < nk) {
            const __m256 p0 = _mm256_broadcast_ss(st + (size_t)j * rp);
            e0 = _mm256_fmadd_ps(p0, load8(v, (size_t)j * vs + (size_t)t, F16), e0);
            e1 = _mm256_fmadd_ps(p0, load8(v, (size_t)j * vs + (size_t)t + 8, F16), e1);
        }
        _mm256_storeu_ps(o + t, _mm256_add_ps(e0, f0));
        _mm256_storeu_ps(o + t + 8, _mm256_add_ps(e1, f1));
    }
}

static void pv_row1_f32(const float *st, size_t rp, int32_t nk, const void *v, size_t vs, float alpha, float *o,
                        int32_t dp) {
    pv_row1(st, rp, nk, v, vs, alpha, o, dp, 0);
}
static void pv_row1_f16(const float *st, size_t rp, int32_t nk, const void *v, size_t vs, float alpha, float *o,
                        int32_t dp) {
    pv_row1(st, rp, nk, v, vs, alpha, o, dp, 1);
}

static void pv_any(const float *st, int32_t rp, int32_t rows, int32_t nk, const void *v, size_t vs, size_t esize,
                   int f16, int32_t dp, const float *alpha, float *o) {
    if (rows == 1) {
        (f16 ? pv_row1_f16 : pv_row1_f32)(st, (size_t)rp, nk, v, vs, alpha[0], o, dp);
        return;
    }
    /* Output-dim panels outside: the nk x 16 panel of V stays in L1 while the
     * row blocks of P^T stream past it. */
    for (int32_t t = 0; t < dp; t += 16) {
        const void *vt = (const char *)v + (size_t)t * esize;
        int32_t r = 0;
        for (; r + 6 <= rows; r += 6)
            pv_fns[f16][6](st + r, (size_t)rp, nk, vt, vs, alpha + r, o + (size_t)r * dp + t, (size_t)dp);
        if (r < rows)
            pv_fns[f16][rows - r](st + r, (size_t)rp, nk, vt, vs, alpha + r, o + (size_t)r * dp + t, (size_t)dp);
    }
}

static void pv_avx2(const float *st, int32_t rp, int32_t rows, int32_t nk, const float *v, size_t vs, int32_t dp,
                    const float *alpha, float *o) {
    pv_any(st, rp, rows, nk, v, vs, sizeof(float), 0, dp, alpha, o);
}

static void pv_f16_avx2(const float *st, int32_t rp, int32_t rows, int32_t nk, const uint16_t *v, size_t vs, int32_t dp,
                        const float *alpha, float *o) {
    pv_any(st, rp, rows, nk, v, vs, sizeof(uint16_t), 1, dp, alpha, o);
}

/* ---- K/V tile conversion ---------------------------------------------------- */
static void load_rows_avx2(lc_dtype t, const void *src, size_t src_stride, int32_t n, int32_t d, float *dst,
                           size_t dst_stride, int32_t dst_pad) {
    for (int32_t j = 0; j < n; j++) {
        const char *s = (const char *)src + (size_t)j * src_stride;
        float *row = dst + (size_t)j * dst_stride;
        int32_t i = 0;
        switch (t) {
        case LC_DTYPE_F16: {
            const uint16_t *h = (const uint16_t *)s;
            for (; i + 8 <= d; i += 8)
                _mm256_storeu_ps(row + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
            for (; i < d; i++) row[i] = lc_f16_to_f32(h[i]);
            break;
        }
        case LC_DTYPE_Q8_0: { /* d % 32 == 0 (validated) */
            const lc_block_q8_0 *b = (const lc_block_q8_0 *)s;
            for (; i < d; i += LC_Q8_0_BLOCK, b++) {
                const __m256 scale = _mm256_set1_ps(_cvtsh_ss(b->d));
                for (int u = 0; u < LC_Q8_0_BLOCK; u += 8) {
                    const __m256i q32 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(b->qs + u)));
                    _mm256_storeu_ps(row + i + u, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(q32)));
                }
            }
            break;
        }
        default: /* f32 */
            memcpy(row, s, (size_t)d * sizeof(float));
            i = d;
            break;
        }
        for (i = d; i < dst_pad; i++) row[i] = 0.0f;
    }
}

const lc_flash_kernels lc_flash_kernels_avx2 = {
    .scores = scores_avx2,
    .scores_rows = scores_rows_avx2,
    .scores_rows_f16 = scores_rows_f16_avx2,
    .softmax = softmax_avx2,
    .pv = pv_avx2,
    .pv_f16 = pv_f16_avx2,
    .load_rows = load_rows_avx2,
    .exp2_row = exp2_row_avx2,
};
