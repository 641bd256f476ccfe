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
 * Decode blocks (1..8 rows: one position times a KV head's query heads) use
 * the dec_* kernels: dot products along d with each K vector loaded once for
 * all rows, a softmax along the keys, and P V with each V vector loaded once
 * for all rows (f16 K/V read in place through F16C).
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


/* ---- decode: blocks of 1..8 query rows, scores row-major ------------------
 * A decode block is one query position times the G query heads of a KV head
 * (G = 1 ... 8), or a few positions of a smaller group. Every K and V element
 * of a tile is loaded (and converted from f16) once for all rows of the block;
 * the scores are kept row-major, s[r][j], so that the softmax runs along the
 * keys with no padding columns. */

/* Sum of each of n <= 8 vectors, into out[0..n) (out[n..8) get zeros). */
LC_INLINE void hsum8(const __m256 *a, int n, float *out) {
    __m256 v[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) v[i] = i < n ? a[i] : _mm256_setzero_ps();
    const __m256 h01 = _mm256_hadd_ps(v[0], v[1]), h23 = _mm256_hadd_ps(v[2], v[3]);
    const __m256 h45 = _mm256_hadd_ps(v[4], v[5]), h67 = _mm256_hadd_ps(v[6], v[7]);
    const __m256 q0 = _mm256_hadd_ps(h01, h23), q1 = _mm256_hadd_ps(h45, h67);
    /* q0 = [s0 s1 s2 s3 | s0' s1' s2' s3'] (halves), same for q1 with s4..s7 */
    const __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20), _mm256_permute2f128_ps(q0, q1, 0x31));
    _mm256_storeu_ps(out, sum); /* all 8 lanes: out has room for 8 */
}

/* Eight elements of a K or V row as f32: f32 in place or f16 through F16C. */
LC_INLINE __m256 load8(const void *base, size_t i, int F16) {
    if (F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)base + i)));
    return _mm256_loadu_ps((const float *)base + i);
}

/* Keys 0..MR-1 (k rows ks elements apart, f32 or (F16) f16) against query
 * rows 0..R-1 (q rows d apart): MR * R <= 14 accumulators, each K vector
 * loaded once for the R rows. s[i][r] goes to s[i * sj + r * sr]. */
LC_INLINE void dot_block(const float *q, int32_t d, const void *k, size_t ks, int R, int MR, int F16, float *s,
                         size_t sj, size_t sr) {
    __m256 acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < MR * R; i++) acc[i] = _mm256_setzero_ps();
    const int32_t d8 = d & ~7;
    for (int32_t t = 0; t < d8; t += 8) {
        __m256 kv[8];
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) kv[i] = load8(k, (size_t)i * ks + (size_t)t, F16);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const __m256 qv = _mm256_loadu_ps(q + (size_t)r * d + t);
#pragma GCC unroll 8
            for (int i = 0; i < MR; i++) acc[i * R + r] = _mm256_fmadd_ps(kv[i], qv, acc[i * R + r]);
        }
    }
    float sums[16];
    hsum8(acc, MR * R < 8 ? MR * R : 8, sums);
    if (MR * R > 8) hsum8(acc + 8, MR * R - 8, sums + 8);
    if (!F16 && d8 < d) /* f32 only: f16 rows have d % 8 == 0 */
        for (int i = 0; i < MR; i++)
            for (int r = 0; r < R; r++)
                for (int32_t t = d8; t < d; t++)
                    sums[i * R + r] += ((const float *)k)[(size_t)i * ks + t] * q[(size_t)r * d + t];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) s[(size_t)i * sj + (size_t)r * sr] = sums[i * R + r];
}

/* All nk keys of a tile against R rows: blocks of MR keys (the most that fit
 * 16 registers with the K vectors: 8, 6, 4, 3, 2, 2, 2, 1 for R = 1..8), then
 * single keys; s[r][j] at s[r * ss + j]. */
LC_INLINE void dec_scores_r(const float *q, int32_t d, const void *k, size_t ks, int32_t nk, float *s, size_t ss,
                            int R, int MR, int F16) {
    const size_t esize = F16 ? sizeof(uint16_t) : sizeof(float);
    int32_t j = 0;
    for (; j + MR <= nk; j += MR) dot_block(q, d, (const char *)k + (size_t)j * ks * esize, ks, R, MR, F16, s + j, 1, ss);
    for (; j < nk; j++) dot_block(q, d, (const char *)k + (size_t)j * ks * esize, ks, R, 1, F16, s + j, 1, ss);
}

#define DEC_SCORES_FN(R, MR)                                                                                           \
    static void dec_scores_##R(const float *q, int32_t d, const void *k, size_t ks, int32_t nk, float *s, size_t ss) { \
        dec_scores_r(q, d, k, ks, nk, s, ss, R, MR, 0);                                                                \
    }                                                                                                                  \
    static void dec_scores_##R##_h(const float *q, int32_t d, const void *k, size_t ks, int32_t nk, float *s,         \
                                   size_t ss) {                                                                        \
        dec_scores_r(q, d, k, ks, nk, s, ss, R, MR, 1);                                                                \
    }
DEC_SCORES_FN(1, 8) DEC_SCORES_FN(2, 6) DEC_SCORES_FN(3, 4) DEC_SCORES_FN(4, 3)
DEC_SCORES_FN(5, 2) DEC_SCORES_FN(6, 2) DEC_SCORES_FN(7, 2) DEC_SCORES_FN(8, 1)

typedef void (*dec_scores_fn)(const float *, int32_t, const void *, size_t, int32_t, float *, size_t);
static const dec_scores_fn dec_scores_fns[2][9] = {
    {NULL, dec_scores_1, dec_scores_2, dec_scores_3, dec_scores_4, dec_scores_5, dec_scores_6, dec_scores_7,
     dec_scores_8},
    {NULL, dec_scores_1_h, dec_scores_2_h, dec_scores_3_h, dec_scores_4_h, dec_scores_5_h, dec_scores_6_h,
     dec_scores_7_h, dec_scores_8_h}};

static void dec_scores_avx2(const float *q, int32_t rows, int32_t d, lc_dtype kt, const void *k, size_t ks, int32_t nk,
                            float *s, size_t ss) {
    dec_scores_fns[kt == LC_DTYPE_F16][rows](q, d, k, ks, nk, s, ss);
}

LC_INLINE float hmax_ps(__m256 x) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

LC_INLINE float hsum_ps(__m256 x) {
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* Online softmax along the keys of each row: the row's new max over its nk
 * scores, then the rescale of the old state (one exp2 vector for all rows)
 * and the probabilities. Entries nk..round8(nk) of each row are set to -inf
 * and then 0 (ss >= round8(nk)). */
static void dec_softmax_avx2(float *s, size_t ss, int32_t rows, int32_t nk, float *m, float *l, float *alpha) {
    const int32_t n8 = (nk + 7) & ~7;
    float mo[8] = {0}, sub[8] = {0}, a[8];
    const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
    for (int32_t r = 0; r < rows; r++) {
        float *row = s + (size_t)r * ss;
        for (int32_t j = nk; j < n8; j++) row[j] = -INFINITY;
        __m256 mx0 = neg_inf, mx1 = neg_inf;
        int32_t j = 0;
        for (; j + 16 <= n8; j += 16) {
            mx0 = _mm256_max_ps(mx0, _mm256_loadu_ps(row + j));
            mx1 = _mm256_max_ps(mx1, _mm256_loadu_ps(row + j + 8));
        }
        if (j < n8) mx0 = _mm256_max_ps(mx0, _mm256_loadu_ps(row + j));
        const float mx = fmaxf(m[r], hmax_ps(_mm256_max_ps(mx0, mx1)));
        mo[r] = m[r];
        m[r] = mx;
        sub[r] = mx == -INFINITY ? 0.0f : mx; /* a row that has seen nothing: 2^-inf = 0, no NaN */
    }
    _mm256_storeu_ps(a, exp2_ps(_mm256_sub_ps(_mm256_loadu_ps(mo), _mm256_loadu_ps(sub))));
    for (int32_t r = 0; r < rows; r++) {
        float *row = s + (size_t)r * ss;
        const __m256 sb = _mm256_set1_ps(sub[r]);
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        int32_t j = 0;
        for (; j + 16 <= n8; j += 16) {
            const __m256 e0 = exp2_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), sb));
            const __m256 e1 = exp2_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j + 8), sb));
            _mm256_storeu_ps(row + j, e0);
            _mm256_storeu_ps(row + j + 8, e1);
            s0 = _mm256_add_ps(s0, e0);
            s1 = _mm256_add_ps(s1, e1);
        }
        if (j < n8) {
            const __m256 e0 = exp2_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), sb));
            _mm256_storeu_ps(row + j, e0);
            s0 = _mm256_add_ps(s0, e0);
        }
        alpha[r] = a[r];
        l[r] = l[r] * a[r] + hsum_ps(_mm256_add_ps(s0, s1));
    }
}

/* O = alpha O + P V for rows 0..MR-1 and output dims 0..8*NV-1: MR * NV
 * accumulators; per key, NV vectors of V (loaded and converted once for the
 * MR rows) and MR broadcasts of p[r][j] = s[j * sj + r * sr]. */
LC_INLINE void pv_block(const float *s, size_t sj, size_t sr, int32_t nk, const void *v, size_t vs, const float *alpha,
                        float *o, size_t dp, int MR, int NV, int F16) {
    __m256 acc[8][2];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        const __m256 a = _mm256_broadcast_ss(alpha + i);
        acc[i][0] = _mm256_mul_ps(a, _mm256_loadu_ps(o + (size_t)i * dp));
        if (NV > 1) acc[i][1] = _mm256_mul_ps(a, _mm256_loadu_ps(o + (size_t)i * dp + 8));
    }
    for (int32_t j = 0; j < nk; j++) {
        const float *pj = s + (size_t)j * sj;
        const __m256 b0 = load8(v, (size_t)j * vs, F16);
        const __m256 b1 = NV > 1 ? load8(v, (size_t)j * vs + 8, F16) : b0;
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            const __m256 p = _mm256_broadcast_ss(pj + (size_t)i * sr);
            acc[i][0] = _mm256_fmadd_ps(p, b0, acc[i][0]);
            if (NV > 1) acc[i][1] = _mm256_fmadd_ps(p, b1, acc[i][1]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        _mm256_storeu_ps(o + (size_t)i * dp, acc[i][0]);
        if (NV > 1) _mm256_storeu_ps(o + (size_t)i * dp + 8, acc[i][1]);
    }
}

/* ---- O = alpha O + P V (prefill: P^T [nk][rp], f32 V) ------------------------ */
#define PV_FN(MR)                                                                                                      \
    static void pv_##MR(const float *st, size_t rp, int32_t nk, const float *v, size_t vs, const float *alpha,         \
                        float *o, size_t dp) {                                                                         \
        pv_block(st, rp, 1, nk, v, vs, alpha, o, dp, MR, 2, 0);                                                        \
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
        if (r < rows) pv_fns[rows - r](st + r, (size_t)rp, nk, v + t, vs, alpha + r, o + (size_t)r * dp + t, (size_t)dp);
    }
}

/* One query row (decode without GQA): 32 output dims at a time, even and odd
 * keys into separate accumulators, so 8 independent FMA chains hide the FMA
 * latency that a single row's 2-vector panel would expose. p[j] is
 * st[j * rp]. */
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


/* Decode P V: rows 2..6 take 16 output dims per pass (2 vectors, up to 12
 * accumulators), rows 7 and 8 take 8 (7 or 8 accumulators), so every V
 * element is loaded and converted once per tile for all rows. */
#define DPV_FN(MR, NV, F16, SUF)                                                                                       \
    static void dpv_##MR##SUF(const float *s, size_t ss, int32_t nk, const void *v, size_t vs, const float *alpha,     \
                              float *o, size_t dp) {                                                                   \
        pv_block(s, 1, ss, nk, v, vs, alpha, o, dp, MR, NV, F16);                                                      \
    }
DPV_FN(2, 2, 0, ) DPV_FN(3, 2, 0, ) DPV_FN(4, 2, 0, ) DPV_FN(5, 2, 0, ) DPV_FN(6, 2, 0, ) DPV_FN(7, 1, 0, )
DPV_FN(8, 1, 0, )
DPV_FN(2, 2, 1, _h) DPV_FN(3, 2, 1, _h) DPV_FN(4, 2, 1, _h) DPV_FN(5, 2, 1, _h) DPV_FN(6, 2, 1, _h)
DPV_FN(7, 1, 1, _h) DPV_FN(8, 1, 1, _h)

typedef void (*dpv_fn)(const float *, size_t, int32_t, const void *, size_t, const float *, float *, size_t);
static const dpv_fn dpv_fns[2][9] = {{NULL, NULL, dpv_2, dpv_3, dpv_4, dpv_5, dpv_6, dpv_7, dpv_8},
                                     {NULL, NULL, dpv_2_h, dpv_3_h, dpv_4_h, dpv_5_h, dpv_6_h, dpv_7_h, dpv_8_h}};
static const int dpv_width[9] = {0, 0, 16, 16, 16, 16, 16, 8, 8};

static void dec_pv_avx2(const float *s, size_t ss, int32_t rows, int32_t nk, lc_dtype vt, const void *v, size_t vs,
                        int32_t dp, const float *alpha, float *o) {
    const int f16 = vt == LC_DTYPE_F16;
    if (rows == 1) {
        pv_row1(s, 1, nk, v, vs, alpha[0], o, dp, f16);
        return;
    }
    const size_t esize = f16 ? sizeof(uint16_t) : sizeof(float);
    const int w = dpv_width[rows];
    for (int32_t t = 0; t < dp; t += w)
        dpv_fns[f16][rows](s, ss, nk, (const char *)v + (size_t)t * esize, vs, alpha, o + t, (size_t)dp);
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
    .softmax = softmax_avx2,
    .pv = pv_avx2,
    .dec_scores = dec_scores_avx2,
    .dec_softmax = dec_softmax_avx2,
    .dec_pv = dec_pv_avx2,
    .load_rows = load_rows_avx2,
    .exp2_row = exp2_row_avx2,
};
