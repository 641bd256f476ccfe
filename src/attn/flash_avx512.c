/*
 * AVX-512 tile kernels of the FLASH engine's prefill path (compiled with
 * -mavx512f/bw/vl; reached only through lc_flash_kernels_for(LC_ISA_AVX512)).
 * Layouts in flash_engine.h; the same algorithm as flash_avx2.c, twice the
 * vector width and twice the registers (32 zmm):
 *
 *   scores  up to 12 keys x 32 query rows: 24 accumulators; per t, two loads
 *           of qt[t][c..c+31] and up to 12 broadcasts of k[j][t] feed 24 FMAs.
 *           rp is a multiple of 8, so the last column panel may be 8 wide:
 *           it runs with a masked load/store.
 *   softmax 16 query rows at a time (a masked last group of 8).
 *   pv      up to 12 query rows x 32 output dims: 24 accumulators; per key,
 *           two loads of v[j][t..t+31] and up to 12 broadcasts of P^T[j][r].
 *           dp is a multiple of 16: the last panel may be 16 wide.
 *
 * K/V tiles reach these kernels as f32 (in place, or converted by load_rows),
 * so f32, f16 and q8_0 caches all run them.
 *
 * Decode (blocks of 1..8 rows, f32 or f16 K/V read in place):
 *   dec_scores  16 keys per vector: per (key, row) 16 partial sums along d,
 *               each K vector loaded and converted once for all rows, then a
 *               transposing tree sums a row's 16 accumulators into one
 *               vector (lane j = key j); d = 64 and 128 as constants.
 *   dec_softmax every row's max and sum in one transposing tree for all rows
 *               (rows_max, rows_sum), one exp2 vector per row.
 *   dec_pv      2..8 rows, passes of 64 output dims (up to 5 rows) or 32.
 * Head dims that are not a multiple of 16, one-row P V and load_rows are the
 * AVX2 tier's.
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "attn/flash_engine.h"

#define LC_INLINE static inline __attribute__((always_inline))

/* ---- exp2: the AVX2 tier's method and polynomial (flash_avx2.c) ------------- */
#define EXP2_C0 1.0f
#define EXP2_C1 0.6931471824645996f
#define EXP2_C2 0.24022646248340607f
#define EXP2_C3 0.05550328642129898f
#define EXP2_C4 0.009618489071726799f
#define EXP2_C5 0.0013399932067841291f
#define EXP2_C6 0.00015345893916673958f

LC_INLINE __m512 exp2_ps(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-127.0f)); /* NaN and -inf to -127 (max returns the 2nd operand on NaN) */
    x = _mm512_min_ps(x, _mm512_set1_ps(127.0f));
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(x, n);
    __m512 p = _mm512_set1_ps(EXP2_C6);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(EXP2_C5));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(EXP2_C4));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(EXP2_C3));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(EXP2_C2));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(EXP2_C1));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(EXP2_C0));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

static void exp2_row_avx512(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp2_ps(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 k = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, k, exp2_ps(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

/* ---- S^T = K Q^T --------------------------------------------------------- */
/* Keys 0..MR-1 against query columns 0..16*NV-1 (the last vector's lanes
 * limited by `last`). */
LC_INLINE void scores_block(const float *qt, size_t rp, int32_t d, const float *k, size_t ks, int MR, int NV,
                            __mmask16 last, float *st) {
    __m512 acc[12][2];
    const __mmask16 m0 = NV > 1 ? (__mmask16)0xFFFF : last;
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    for (int32_t t = 0; t < d; t++) {
        const float *q = qt + (size_t)t * rp;
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, q);
        const __m512 b1 = NV > 1 ? _mm512_maskz_loadu_ps(last, q + 16) : b0;
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            const __m512 a = _mm512_set1_ps(k[(size_t)i * ks + (size_t)t]);
            acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
            if (NV > 1) acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        _mm512_mask_storeu_ps(st + (size_t)i * rp, m0, acc[i][0]);
        if (NV > 1) _mm512_mask_storeu_ps(st + (size_t)i * rp + 16, last, acc[i][1]);
    }
}

#define SCORES_FN(MR, NV)                                                                                              \
    static void scores_##MR##_##NV(const float *qt, size_t rp, int32_t d, const float *k, size_t ks, __mmask16 last,   \
                                   float *st) {                                                                        \
        scores_block(qt, rp, d, k, ks, MR, NV, last, st);                                                              \
    }
SCORES_FN(1, 1) SCORES_FN(2, 1) SCORES_FN(3, 1) SCORES_FN(4, 1) SCORES_FN(5, 1) SCORES_FN(6, 1)
SCORES_FN(7, 1) SCORES_FN(8, 1) SCORES_FN(9, 1) SCORES_FN(10, 1) SCORES_FN(11, 1) SCORES_FN(12, 1)
SCORES_FN(1, 2) SCORES_FN(2, 2) SCORES_FN(3, 2) SCORES_FN(4, 2) SCORES_FN(5, 2) SCORES_FN(6, 2)
SCORES_FN(7, 2) SCORES_FN(8, 2) SCORES_FN(9, 2) SCORES_FN(10, 2) SCORES_FN(11, 2) SCORES_FN(12, 2)

typedef void (*scores_fn)(const float *, size_t, int32_t, const float *, size_t, __mmask16, float *);
static const scores_fn scores_fns[2][13] = {
    {NULL, scores_1_1, scores_2_1, scores_3_1, scores_4_1, scores_5_1, scores_6_1, scores_7_1, scores_8_1, scores_9_1,
     scores_10_1, scores_11_1, scores_12_1},
    {NULL, scores_1_2, scores_2_2, scores_3_2, scores_4_2, scores_5_2, scores_6_2, scores_7_2, scores_8_2, scores_9_2,
     scores_10_2, scores_11_2, scores_12_2},
};

static void scores_avx512(const float *qt, int32_t rp, int32_t d, const float *k, size_t ks, int32_t nk, float *st) {
    /* Column panels of 32 query rows (then one of 24, 16 or 8): the panel of
     * qt (d x 32 floats) stays in L1 while the key rows stream past it. */
    for (int32_t c = 0; c < rp; c += 32) {
        const int32_t w = rp - c >= 32 ? 32 : rp - c; /* 8, 16, 24 or 32 */
        const int nv = w > 16 ? 2 : 1;
        const int32_t lw = w - 16 * (nv - 1); /* lanes of the last vector: 8 or 16 */
        const __mmask16 last = (__mmask16)((1u << lw) - 1u);
        int32_t j = 0;
        for (; j + 12 <= nk; j += 12)
            scores_fns[nv - 1][12](qt + c, (size_t)rp, d, k + (size_t)j * ks, ks, last, st + (size_t)j * rp + c);
        if (j < nk)
            scores_fns[nv - 1][nk - j](qt + c, (size_t)rp, d, k + (size_t)j * ks, ks, last, st + (size_t)j * rp + c);
    }
}

/* ---- online softmax over a tile, 16 query rows at a time -------------------- */
static void softmax_avx512(float *st, int32_t nk, int32_t rp, float *m, float *l, float *alpha) {
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
    for (int32_t r = 0; r < rp; r += 16) {
        const __mmask16 km = rp - r >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (rp - r)) - 1u);
        const __m512 m_old = _mm512_maskz_loadu_ps(km, m + r);
        __m512 mx0 = m_old, mx1 = neg_inf;
        int32_t j = 0;
        for (; j + 2 <= nk; j += 2) {
            mx0 = _mm512_max_ps(mx0, _mm512_maskz_loadu_ps(km, st + (size_t)j * rp + r));
            mx1 = _mm512_max_ps(mx1, _mm512_maskz_loadu_ps(km, st + (size_t)(j + 1) * rp + r));
        }
        if (j < nk) mx0 = _mm512_max_ps(mx0, _mm512_maskz_loadu_ps(km, st + (size_t)j * rp + r));
        const __m512 mx = _mm512_max_ps(mx0, mx1);
        /* Rows that have seen nothing subtract 0, so 2^(-inf - 0) = 0, not NaN. */
        const __m512 sub = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(mx, neg_inf, _CMP_EQ_OQ), mx, _mm512_setzero_ps());
        const __m512 a = exp2_ps(_mm512_sub_ps(m_old, sub));
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        for (j = 0; j + 2 <= nk; j += 2) {
            float *p0 = st + (size_t)j * rp + r, *p1 = p0 + rp;
            const __m512 e0 = exp2_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(km, p0), sub));
            const __m512 e1 = exp2_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(km, p1), sub));
            _mm512_mask_storeu_ps(p0, km, e0);
            _mm512_mask_storeu_ps(p1, km, e1);
            s0 = _mm512_add_ps(s0, e0);
            s1 = _mm512_add_ps(s1, e1);
        }
        if (j < nk) {
            float *p0 = st + (size_t)j * rp + r;
            const __m512 e0 = exp2_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(km, p0), sub));
            _mm512_mask_storeu_ps(p0, km, e0);
            s0 = _mm512_add_ps(s0, e0);
        }
        _mm512_mask_storeu_ps(alpha + r, km, a);
        _mm512_mask_storeu_ps(l + r, km,
                              _mm512_fmadd_ps(_mm512_maskz_loadu_ps(km, l + r), a, _mm512_add_ps(s0, s1)));
        _mm512_mask_storeu_ps(m + r, km, mx);
    }
}

/* ---- O = alpha O + P V (P^T [nk][rp], f32 V) --------------------------------- */
/* Rows 0..MR-1, output dims 0..16*NV-1: MR * NV accumulators; per key, NV
 * vectors of V and MR broadcasts of P^T[j][r]. */
LC_INLINE void pv_block(const float *st, size_t rp, int32_t nk, const float *v, size_t vs, const float *alpha,
                        float *o, size_t dp, int MR, int NV) {
    __m512 acc[12][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        const __m512 a = _mm512_set1_ps(alpha[i]);
        acc[i][0] = _mm512_mul_ps(a, _mm512_loadu_ps(o + (size_t)i * dp));
        acc[i][1] = NV > 1 ? _mm512_mul_ps(a, _mm512_loadu_ps(o + (size_t)i * dp + 16)) : acc[i][0];
    }
    for (int32_t j = 0; j < nk; j++) {
        const float *pj = st + (size_t)j * rp;
        const __m512 b0 = _mm512_loadu_ps(v + (size_t)j * vs);
        const __m512 b1 = NV > 1 ? _mm512_loadu_ps(v + (size_t)j * vs + 16) : b0;
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            const __m512 p = _mm512_set1_ps(pj[i]);
            acc[i][0] = _mm512_fmadd_ps(p, b0, acc[i][0]);
            if (NV > 1) acc[i][1] = _mm512_fmadd_ps(p, b1, acc[i][1]);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        _mm512_storeu_ps(o + (size_t)i * dp, acc[i][0]);
        if (NV > 1) _mm512_storeu_ps(o + (size_t)i * dp + 16, acc[i][1]);
    }
}

#define PV_FN(MR, NV)                                                                                                  \
    static void pv_##MR##_##NV(const float *st, size_t rp, int32_t nk, const float *v, size_t vs, const float *alpha,  \
                               float *o, size_t dp) {                                                                  \
        pv_block(st, rp, nk, v, vs, alpha, o, dp, MR, NV);                                                             \
    }
PV_FN(1, 1) PV_FN(2, 1) PV_FN(3, 1) PV_FN(4, 1) PV_FN(5, 1) PV_FN(6, 1)
PV_FN(7, 1) PV_FN(8, 1) PV_FN(9, 1) PV_FN(10, 1) PV_FN(11, 1) PV_FN(12, 1)
PV_FN(1, 2) PV_FN(2, 2) PV_FN(3, 2) PV_FN(4, 2) PV_FN(5, 2) PV_FN(6, 2)
PV_FN(7, 2) PV_FN(8, 2) PV_FN(9, 2) PV_FN(10, 2) PV_FN(11, 2) PV_FN(12, 2)

typedef void (*pv_fn)(const float *, size_t, int32_t, const float *, size_t, const float *, float *, size_t);
static const pv_fn pv_fns[2][13] = {
    {NULL, pv_1_1, pv_2_1, pv_3_1, pv_4_1, pv_5_1, pv_6_1, pv_7_1, pv_8_1, pv_9_1, pv_10_1, pv_11_1, pv_12_1},
    {NULL, pv_1_2, pv_2_2, pv_3_2, pv_4_2, pv_5_2, pv_6_2, pv_7_2, pv_8_2, pv_9_2, pv_10_2, pv_11_2, pv_12_2},
};

static void pv_avx512(const float *st, int32_t rp, int32_t rows, int32_t nk, const float *v, size_t vs, int32_t dp,
                      const float *alpha, float *o) {
    /* Output-dim panels outside (32, then 16: dp % 16 == 0): the nk x 32
     * panel of V stays in L1 while the row blocks of P^T stream past it. */
    for (int32_t t = 0; t < dp; t += 32) {
        const int nv = dp - t >= 32 ? 2 : 1;
        int32_t r = 0;
        for (; r + 12 <= rows; r += 12)
            pv_fns[nv - 1][12](st + r, (size_t)rp, nk, v + t, vs, alpha + r, o + (size_t)r * dp + t, (size_t)dp);
        if (r < rows)
            pv_fns[nv - 1][rows - r](st + r, (size_t)rp, nk, v + t, vs, alpha + r, o + (size_t)r * dp + t,
                                     (size_t)dp);
    }
}

/* ---- decode scores: dot products along d, 16 keys reduced into one vector ---- */
/* Up to 16 keys against R query rows, d % 16 == 0: each (key, row) pair keeps
 * an accumulator of 16 partial sums along d, the K vectors loaded (and
 * converted from f16) once for the R rows, NK keys in flight (4 for R <= 3, so
 * that at least 8 FMA chains hide the latency, else 2). The 16 accumulators
 * of a row are summed into one vector, lane j = key j, by a transposing tree
 * (unpack, 64-bit unpack, two 128-bit lane shuffles: 15 adds and 30 shuffles
 * for 16 dot products), and the row's scores leave in one store. */
LC_INLINE __m512 kvec16(const void *k, size_t i, int F16) {
    if (F16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)k + i)));
    return _mm512_loadu_ps((const float *)k + i);
}

/* Keys a, b: per 128-bit lane [a, b, a, b], each a sum of two elements. */
LC_INLINE __m512 pair_sum(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
}
/* Pairs (0, 1) and (2, 3): per 128-bit lane [k0, k1, k2, k3], each the sum of
 * the lane's 4 elements. */
LC_INLINE __m512 quad_sum(__m512 x01, __m512 x23) {
    const __m512d a = _mm512_castps_pd(x01), b = _mm512_castps_pd(x23);
    return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
}
/* Across 128-bit lanes: [y0 lanes 0+1, y0 lanes 2+3, y1 lanes 0+1, y1 lanes 2+3]. */
LC_INLINE __m512 lane_sum(__m512 y0, __m512 y1) {
    return _mm512_add_ps(_mm512_shuffle_f32x4(y0, y1, 0x88), _mm512_shuffle_f32x4(y0, y1, 0xDD));
}

/* The 4 keys j0..j0+3 (those below nj) against R rows: per row, their sums
 * per 128-bit lane (quad_sum's layout). */
LC_INLINE void dscores_quad(const float *q, int32_t d, const void *k, size_t ks, int32_t j0, int32_t nj, int R, int NK,
                            int F16, __m512 *y) {
    const __m512 zero = _mm512_setzero_ps();
    __m512 x[8][2];
#pragma GCC unroll 2
    for (int g = 0; g < 4; g += NK) {
        __m512 acc[4][8];
#pragma GCC unroll 4
        for (int p = 0; p < NK; p++)
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) acc[p][r] = zero;
        if (j0 + g < nj) {
            int live[4];
#pragma GCC unroll 4
            for (int p = 0; p < NK; p++) live[p] = j0 + g + p < nj;
#pragma GCC unroll 16
            for (int32_t t = 0; t < d; t += 16) {
                __m512 kv[4];
#pragma GCC unroll 4
                for (int p = 0; p < NK; p++) kv[p] = live[p] ? kvec16(k, (size_t)(j0 + g + p) * ks + (size_t)t, F16) : zero;
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    const __m512 qv = _mm512_loadu_ps(q + (size_t)r * d + t);
#pragma GCC unroll 4
                    for (int p = 0; p < NK; p++) acc[p][r] = _mm512_fmadd_ps(kv[p], qv, acc[p][r]);
                }
            }
        }
#pragma GCC unroll 2
        for (int p = 0; p < NK; p += 2)
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) x[r][(g + p) / 2] = pair_sum(acc[p][r], acc[p + 1][r]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) y[r] = quad_sum(x[r][0], x[r][1]);
}

/* Keys 0..nj-1 (nj <= 16) of k against R rows into s[r][0..nj). */
LC_INLINE void dscores16(const float *q, int32_t d, const void *k, size_t ks, int32_t nj, float *s, size_t ss, int R,
                         int NK, int F16) {
    __m512 z[2][8];
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m512 y0[8], y1[8];
        dscores_quad(q, d, k, ks, 8 * h, nj, R, NK, F16, y0);
        dscores_quad(q, d, k, ks, 8 * h + 4, nj, R, NK, F16, y1);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) z[h][r] = lane_sum(y0[r], y1[r]);
    }
    /* plain stores for a whole tile: a masked store does not forward to the
     * loads of dec_softmax that follow at once */
    const __mmask16 km = (__mmask16)((1u << nj) - 1u);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
        const __m512 sr = lane_sum(z[0][r], z[1][r]);
        if (nj == 16) _mm512_storeu_ps(s + (size_t)r * ss, sr);
        else _mm512_mask_storeu_ps(s + (size_t)r * ss, km, sr);
    }
}

/* Head dims 64 and 128 as constants (the query rows then sit at fixed
 * offsets from one pointer and the d loop unrolls), others at run time. */
LC_INLINE void dscores_rows(const float *q, int32_t d, const void *k, size_t ks, int32_t nk, float *s, size_t ss, int R,
                            int NK, int F16) {
    const size_t esize = F16 ? sizeof(uint16_t) : sizeof(float);
    for (int32_t j = 0; j < nk; j += 16) {
        const void *kj = (const char *)k + (size_t)j * ks * esize;
        const int32_t nj = nk - j < 16 ? nk - j : 16;
        if (d == 64) dscores16(q, 64, kj, ks, nj, s + j, ss, R, NK, F16);
        else if (d == 128) dscores16(q, 128, kj, ks, nj, s + j, ss, R, NK, F16);
        else dscores16(q, d, kj, ks, nj, s + j, ss, R, NK, F16);
    }
}

#define DSC_FN(R, NK)                                                                                                  \
    static void dsc_##R(const float *q, int32_t d, const void *k, size_t ks, int32_t nk, float *s, size_t ss) {       \
        dscores_rows(q, d, k, ks, nk, s, ss, R, NK, 0);                                                                \
    }                                                                                                                  \
    static void dsc_##R##_h(const float *q, int32_t d, const void *k, size_t ks, int32_t nk, float *s, size_t ss) {   \
        dscores_rows(q, d, k, ks, nk, s, ss, R, NK, 1);                                                                \
    }
DSC_FN(1, 4) DSC_FN(2, 4) DSC_FN(3, 4) DSC_FN(4, 2) DSC_FN(5, 2) DSC_FN(6, 2) DSC_FN(7, 2) DSC_FN(8, 2)

typedef void (*dsc_fn)(const float *, int32_t, const void *, size_t, int32_t, float *, size_t);
static const dsc_fn dsc_fns[2][9] = {{NULL, dsc_1, dsc_2, dsc_3, dsc_4, dsc_5, dsc_6, dsc_7, dsc_8},
                                     {NULL, dsc_1_h, dsc_2_h, dsc_3_h, dsc_4_h, dsc_5_h, dsc_6_h, dsc_7_h, dsc_8_h}};

static void dec_scores_avx512(const float *q, int32_t rows, int32_t d, lc_dtype kt, const void *k, size_t ks,
                              int32_t nk, float *s, size_t ss) {
    if (d % 16 || rows < 1 || rows > 8) { /* f32 rows of other widths: the AVX2 tier's tail loop */
        lc_flash_kernels_avx2.dec_scores(q, rows, d, kt, k, ks, nk, s, ss);
        return;
    }
    dsc_fns[kt == LC_DTYPE_F16][rows](q, d, k, ks, nk, s, ss);
}

/* Lane r (r < 8) of the result = op over the 16 lanes of v_r: the transposing
 * tree of dscores16 on 8 vectors (24 operations for 8 horizontal reductions,
 * all independent of each other). Written out so that the vectors stay in
 * registers. */
#define ROWS_REDUCE(NAME, OPS)                                                                                         \
    LC_INLINE __m512 NAME##_pair(__m512 a, __m512 b) {                                                                 \
        return OPS(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));                                                \
    }                                                                                                                  \
    LC_INLINE __m512 NAME##_quad(__m512 x, __m512 y) {                                                                 \
        const __m512d a = _mm512_castps_pd(x), b = _mm512_castps_pd(y);                                               \
        return OPS(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));            \
    }                                                                                                                  \
    LC_INLINE __m512 NAME(__m512 v0, __m512 v1, __m512 v2, __m512 v3, __m512 v4, __m512 v5, __m512 v6, __m512 v7) {    \
        const __m512 q0 = NAME##_quad(NAME##_pair(v0, v1), NAME##_pair(v2, v3));                                       \
        const __m512 q1 = NAME##_quad(NAME##_pair(v4, v5), NAME##_pair(v6, v7));                                       \
        const __m512 z = OPS(_mm512_shuffle_f32x4(q0, q1, 0x88), _mm512_shuffle_f32x4(q0, q1, 0xDD));                  \
        return OPS(_mm512_shuffle_f32x4(z, z, 0x88), _mm512_shuffle_f32x4(z, z, 0xDD));                                \
    }
ROWS_REDUCE(rows_max, _mm512_max_ps)
ROWS_REDUCE(rows_sum, _mm512_add_ps)

/* Online softmax along the keys of each row, 16 keys per vector (masked past
 * nk: nothing beyond a row's nk entries is read or written). The rows' maxima
 * and sums are horizontal reductions done for all rows at once (rows_max,
 * rows_sum), and the rows' exp2 vectors are independent of each other, so
 * the rows overlap instead of queueing behind one reduction each. */
LC_INLINE __mmask16 keys_mask(int32_t nk, int32_t j) {
    return nk - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (nk - j)) - 1u);
}

LC_INLINE void dsoftmax(float *s, size_t ss, int32_t nk, float *m, float *l, float *alpha, int R) {
    const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
    const __mmask16 rk = (__mmask16)((1u << R) - 1u);
    __m512 v[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) v[r] = neg_inf;
    if (nk == 16) {
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) v[r] = _mm512_loadu_ps(s + (size_t)r * ss);
    } else {
#pragma GCC unroll 8
        for (int r = 0; r < R; r++)
            for (int32_t j = 0; j < nk; j += 16)
                v[r] = _mm512_max_ps(v[r], _mm512_mask_loadu_ps(neg_inf, keys_mask(nk, j), s + (size_t)r * ss + j));
    }
    const __m512 m_old = _mm512_mask_loadu_ps(neg_inf, rk, m);
    const __m512 m_new = _mm512_max_ps(m_old, rows_max(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]));
    /* a row that has seen nothing subtracts 0: 2^-inf = 0, no NaN */
    const __m512 sub = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(m_new, neg_inf, _CMP_EQ_OQ), m_new, _mm512_setzero_ps());
    const __m512 a = exp2_ps(_mm512_sub_ps(m_old, sub));
    if (nk == 16) {
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            v[r] = exp2_ps(_mm512_sub_ps(v[r], _mm512_permutexvar_ps(_mm512_set1_epi32(r), sub)));
            _mm512_storeu_ps(s + (size_t)r * ss, v[r]);
        }
    } else {
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            float *row = s + (size_t)r * ss;
            const __m512 sb = _mm512_permutexvar_ps(_mm512_set1_epi32(r), sub);
            v[r] = _mm512_setzero_ps();
            for (int32_t j = 0; j < nk; j += 16) {
                const __mmask16 km = keys_mask(nk, j);
                const __m512 e = exp2_ps(_mm512_sub_ps(_mm512_mask_loadu_ps(neg_inf, km, row + j), sb));
                _mm512_mask_storeu_ps(row + j, km, e);
                v[r] = _mm512_add_ps(v[r], e);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = R; r < 8; r++) v[r] = _mm512_setzero_ps();
    _mm512_mask_storeu_ps(alpha, rk, a);
    _mm512_mask_storeu_ps(l, rk, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(rk, l), a, rows_sum(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])));
    _mm512_mask_storeu_ps(m, rk, m_new);
}

#define DSM_FN(R)                                                                                                      \
    static void dsm_##R(float *s, size_t ss, int32_t nk, float *m, float *l, float *alpha) {                           \
        dsoftmax(s, ss, nk, m, l, alpha, R);                                                                           \
    }
DSM_FN(1) DSM_FN(2) DSM_FN(3) DSM_FN(4) DSM_FN(5) DSM_FN(6) DSM_FN(7) DSM_FN(8)
typedef void (*dsm_fn)(float *, size_t, int32_t, float *, float *, float *);
static const dsm_fn dsm_fns[9] = {NULL, dsm_1, dsm_2, dsm_3, dsm_4, dsm_5, dsm_6, dsm_7, dsm_8};

static void dec_softmax_avx512(float *s, size_t ss, int32_t rows, int32_t nk, float *m, float *l, float *alpha) {
    if (rows < 1 || rows > 8) {
        lc_flash_kernels_avx2.dec_softmax(s, ss, rows, nk, m, l, alpha);
        return;
    }
    dsm_fns[rows](s, ss, nk, m, l, alpha);
}

/* ---- decode P V ---------------------------------------------------------- */
/* Rows 0..MR-1, output dims 0..16*NV-1: MR * NV accumulators; per key, the NV
 * V vectors (f32, or f16 through vcvtph2ps) are loaded once for all rows. */
LC_INLINE __m512 load16(const void *base, size_t i, int F16) {
    if (F16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)base + i)));
    return _mm512_loadu_ps((const float *)base + i);
}

LC_INLINE void dpv_block(const float *s, size_t ss, int32_t nk, const void *v, size_t vs, const float *alpha, float *o,
                         size_t dp, int MR, int NV, int F16) {
    __m512 acc[8][4];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        const __m512 a = _mm512_set1_ps(alpha[i]);
#pragma GCC unroll 4
        for (int u = 0; u < NV; u++) acc[i][u] = _mm512_mul_ps(a, _mm512_loadu_ps(o + (size_t)i * dp + 16 * u));
    }
    for (int32_t j = 0; j < nk; j++) {
        __m512 b[4];
#pragma GCC unroll 4
        for (int u = 0; u < NV; u++) b[u] = load16(v, (size_t)j * vs + 16 * u, F16);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            const __m512 p = _mm512_set1_ps(s[(size_t)i * ss + (size_t)j]);
#pragma GCC unroll 4
            for (int u = 0; u < NV; u++) acc[i][u] = _mm512_fmadd_ps(p, b[u], acc[i][u]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
        for (int u = 0; u < NV; u++) _mm512_storeu_ps(o + (size_t)i * dp + 16 * u, acc[i][u]);
}

/* Rows MR, the head's output dims in passes of 64 (up to 5 rows: 4 * MR + 4
 * registers), else 32, and a last pass of 16 or 48 where dp asks. */
LC_INLINE void dpv_rows(const float *s, size_t ss, int32_t nk, const void *v, size_t vs, const float *alpha, float *o,
                        int32_t dp, int MR, int F16) {
    const size_t esize = F16 ? sizeof(uint16_t) : sizeof(float);
    const int W = MR <= 5 ? 4 : 2; /* vectors per pass */
    int32_t t = 0;
    for (; t + 16 * W <= dp; t += 16 * W)
        dpv_block(s, ss, nk, (const char *)v + (size_t)t * esize, vs, alpha, o + t, (size_t)dp, MR, W, F16);
    const int rest = (dp - t) / 16; /* dp % 16 == 0 */
    const void *vt = (const char *)v + (size_t)t * esize;
    if (rest == 3) dpv_block(s, ss, nk, vt, vs, alpha, o + t, (size_t)dp, MR, 3, F16);
    else if (rest == 2) dpv_block(s, ss, nk, vt, vs, alpha, o + t, (size_t)dp, MR, 2, F16);
    else if (rest == 1) dpv_block(s, ss, nk, vt, vs, alpha, o + t, (size_t)dp, MR, 1, F16);
}

#define DPV_FN(MR)                                                                                                     \
    static void dpv_##MR(const float *s, size_t ss, int32_t nk, const void *v, size_t vs, const float *alpha, float *o, \
                         int32_t dp, int f16) {                                                                        \
        if (f16) dpv_rows(s, ss, nk, v, vs, alpha, o, dp, MR, 1);                                                      \
        else dpv_rows(s, ss, nk, v, vs, alpha, o, dp, MR, 0);                                                          \
    }
DPV_FN(2) DPV_FN(3) DPV_FN(4) DPV_FN(5) DPV_FN(6) DPV_FN(7) DPV_FN(8)

typedef void (*dpv_fn)(const float *, size_t, int32_t, const void *, size_t, const float *, float *, int32_t, int);
static const dpv_fn dpv_fns[9] = {NULL, NULL, dpv_2, dpv_3, dpv_4, dpv_5, dpv_6, dpv_7, dpv_8};

/* Decode P V: 2..8 rows here, every V vector loaded (and converted) once per
 * pass for all rows; one row is the AVX2 tier's (8 independent chains; a lone
 * row is bound by reading V). */
static void dec_pv_avx512(const float *s, size_t ss, int32_t rows, int32_t nk, lc_dtype vt, const void *v, size_t vs,
                          int32_t dp, const float *alpha, float *o) {
    if (rows < 2 || rows > 8) {
        lc_flash_kernels_avx2.dec_pv(s, ss, rows, nk, vt, v, vs, dp, alpha, o);
        return;
    }
    dpv_fns[rows](s, ss, nk, v, vs, alpha, o, dp, vt == LC_DTYPE_F16);
}

static void load_rows_avx512(lc_dtype t, const void *src, size_t src_stride, int32_t n, int32_t d, float *dst,
                             size_t dst_stride, int32_t dst_pad) {
    lc_flash_kernels_avx2.load_rows(t, src, src_stride, n, d, dst, dst_stride, dst_pad);
}

const lc_flash_kernels lc_flash_kernels_avx512 = {
    .scores = scores_avx512,
    .softmax = softmax_avx512,
    .pv = pv_avx512,
    .dec_scores = dec_scores_avx512,
    .dec_softmax = dec_softmax_avx512,
    .dec_pv = dec_pv_avx512,
    .load_rows = load_rows_avx512,
    .exp2_row = exp2_row_avx512,
};
