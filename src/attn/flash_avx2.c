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

#define SCORES_FN(MR, NV)                                                                                          \
    static void scores_##MR##_##NV(const float *qt, size_t rp, int32_t d, const float *k, size_t ks, float *st) { \
        scores_block(qt, rp, d, k, ks, MR, NV, st);                                                                \
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
        if (j < nk)
            scores_fns[nv - 1][nk - j](qt + c, (size_t)rp, d, k + (size_t)j * ks, ks, st + (size_t)j * rp + c);
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

/* Keys j0..j0+MR-1 against query rows 0..R-1 (MR * R <= 12 accumulators). */
LC_INLINE void dot_block(const float *q, int32_t d, const float *k, size_t ks, int R, int MR, float *st, size_t rp) {
    __m256 acc[12];
#pragma GCC unroll 12
    for (int i = 0; i < MR * R; i++) acc[i] = _mm256_setzero_ps();
    const int32_t d8 = d & ~7;
    for (int32_t t = 0; t < d8; t += 8) {
        __m256 kv[8];
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) kv[i] = _mm256_loadu_ps(k + (size_t)i * ks + t);
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
            for (int32_t t = d8; t < d; t++) s += k[(size_t)i * ks + t] * q[(size_t)r * d + t];
            st[(size_t)i * rp + r] = s;
        }
}

#define DOT_FN(R, MR)                                                                                              \
    static void dot_##R##_##MR(const float *q, int32_t d, const float *k, size_t ks, float *st, size_t rp) {      \
        dot_block(q, d, k, ks, R, MR, st, rp);                                                                     \
    }
DOT_FN(1, 8) DOT_FN(1, 1) DOT_FN(2, 6) DOT_FN(2, 1) DOT_FN(3, 4) DOT_FN(3, 1) DOT_FN(4, 3) DOT_FN(4, 1)

typedef void (*dot_fn)(const float *, int32_t, const float *, size_t, float *, size_t);
static const dot_fn dot_wide[5] = {NULL, dot_1_8, dot_2_6, dot_3_4, dot_4_3};
static const dot_fn dot_one[5] = {NULL, dot_1_1, dot_2_1, dot_3_1, dot_4_1};
static const int dot_mr[5] = {0, 8, 6, 4, 3};

static void scores_rows_avx2(const float *q, int32_t rows, int32_t d, const float *k, size_t ks, int32_t nk,
                             float *st, int32_t rp) {
    const int mr = dot_mr[rows];
    int32_t j = 0;
    for (; j + mr <= nk; j += mr) dot_wide[rows](q, d, k + (size_t)j * ks, ks, st + (size_t)j * rp, (size_t)rp);
    for (; j < nk; j++) dot_one[rows](q, d, k + (size_t)j * ks, ks, st + (size_t)j * rp, (size_t)rp);
    for (j = 0; j < nk; j++)
        for (int32_t r = rows; r < rp; r++) st[(size_t)j * rp + r] = 0.0f;
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
/* Rows r0..r0+MR-1, output dims t..t+15. */
LC_INLINE void pv_block(const float *st, size_t rp, int32_t nk, const float *v, size_t vs, const float *alpha,
                        float *o, size_t dp, int MR) {
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        const __m256 a = _mm256_broadcast_ss(alpha + i);
        acc[i][0] = _mm256_mul_ps(a, _mm256_loadu_ps(o + (size_t)i * dp));
        acc[i][1] = _mm256_mul_ps(a, _mm256_loadu_ps(o + (size_t)i * dp + 8));
    }
    for (int32_t j = 0; j < nk; j++) {
        const float *vj = v + (size_t)j * vs;
        const float *pj = st + (size_t)j * rp;
        const __m256 b0 = _mm256_loadu_ps(vj), b1 = _mm256_loadu_ps(vj + 8);
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

#define PV_FN(MR)                                                                                                  \
    static void pv_##MR(const float *st, size_t rp, int32_t nk, const float *v, size_t vs, const float *alpha,    \
                        float *o, size_t dp) {                                                                     \
        pv_block(st, rp, nk, v, vs, alpha, o, dp, MR);                                                             \
    }
PV_FN(1) PV_FN(2) PV_FN(3) PV_FN(4) PV_FN(5) PV_FN(6)

typedef void (*pv_fn)(const float *, size_t, int32_t, const float *, size_t, const float *, float *, size_t);
static const pv_fn pv_fns[7] = {NULL, pv_1, pv_2, pv_3, pv_4, pv_5, pv_6};

static void pv_avx2(const float *st, int32_t rp, int32_t rows, int32_t nk, const float *v, size_t vs, int32_t dp,
                    const float *alpha, float *o) {
    /* Output-dim panels outside: the nk x 16 panel of V stays in L1 while the
     * row blocks of P^T stream past it. */
    for (int32_t t = 0; t < dp; t += 16) {
        int32_t r = 0;
        for (; r + 6 <= rows; r += 6)
            pv_fns[6](st + r, (size_t)rp, nk, v + t, vs, alpha + r, o + (size_t)r * dp + t, (size_t)dp);
        if (r < rows)
            pv_fns[rows - r](st + r, (size_t)rp, nk, v + t, vs, alpha + r, o + (size_t)r * dp + t, (size_t)dp);
    }
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
    scores_avx2, scores_rows_avx2, softmax_avx2, pv_avx2, load_rows_avx2, exp2_row_avx2,
};
