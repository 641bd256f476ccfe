/*
 * AVX2 integer dot products of quantised weights with 8-bit activations
 * (compiled with -mavx2 -mfma -mf16c; called only after lc_isa_best() >=
 * LC_ISA_AVX2). The scalar references are in qk_dot.c.
 *
 * Every type is written as one tile kernel: R weight rows x T activation
 * rows per pass over the blocks. Each weight block is decoded once per tile
 * into 32 bytes per 32 elements (and its scales once per block), each
 * activation block loaded once per tile, and every (row, token) pair costs
 * only the multiply-adds:
 *
 *   vpmaddubsw  u8 weights x s8 activations -> 16 x i16 (pairs summed;
 *               signed weights use |w| and sign(a, w))
 *   vpmaddwd    x 1 (32-element blocks) or x the sub-block scales (K types)
 *               -> 8 x i32
 *
 * 32-element types (Q4_0 ... Q8_0, IQ4_NL, MXFP4) scale the 8 int32 sums by
 * dw * da per block into f32 accumulators. K types keep the scaled sums of
 * a whole 256-element super-block in int32 and convert once per super-block;
 * offsets that shift the weights (Q3_K's -4, Q6_K's -32) and the mins (Q2_K,
 * Q4_K, Q5_K) come from the activations' 16 block sums (one vpmaddwd each).
 * No lane can overflow: |maddubs| <= 2 * 128 * 127, K sums <= 8 x 4.2e6.
 *
 * R and T are compile-time constants (the tile functions below instantiate
 * TR x TT for the inside of a product and 1 x T, R x 1 and 1 x 1 for its
 * edges), so the accumulator arrays live in registers.
 */
#include <immintrin.h>
#include <string.h>

#include "quant/qk_kernels.h"

#define LC_INLINE static inline __attribute__((always_inline))

/* Fully unroll the loops over tile rows, tokens and chunks (their bounds
 * are compile-time constants) so the accumulator arrays become registers. */
#if defined(__clang__)
#define UNROLL _Pragma("clang loop unroll(full)")
#else
#define UNROLL _Pragma("GCC unroll 8")
#endif

/* Tile: weight rows x activation rows (3 x 4 measured best of 1..4 x 2..8
 * on Q4_0 / Q4_K / Q6_K prefill; 4 x 4 and larger spill). */
#define TR LC_QK_TILE_ROWS
#define TT LC_QK_TILE_TOKENS

LC_INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

LC_INLINE float f16(uint16_t h) { return _cvtsh_ss(h); }

/* Prefetch n bytes of a weight row LC_QK_PREFETCH bytes ahead of p (the
 * one-token tiles, where each row is a stream read once). */
LC_INLINE void pf_span(const char *p, size_t n) {
    UNROLL
    for (size_t o = 0; o < n; o += 64) _mm_prefetch(p + LC_QK_PREFETCH + o, _MM_HINT_T0);
}

/* 16 bytes of nibbles -> 32 bytes: the low nibbles, then the high ones. */
LC_INLINE __m256i nib32(const uint8_t *qs) {
    __m128i b = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(b), _mm_srli_epi16(b, 4), 1);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

/* 32 bits (little-endian) -> 32 bytes, 0xFF where the bit is set. */
LC_INLINE __m256i bits32(const uint8_t *qh) {
    uint32_t h;
    memcpy(&h, qh, 4);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h),
                                    _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                                                      0x0101010101010101LL, 0));
    const __m256i bm = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bm), bm);
}

/* A 16-entry int8 table in both 128-bit lanes (for vpshufb lookups). */
LC_INLINE __m256i table16(const int8_t *t) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
}

/* ---- 32-element blocks ------------------------------------------------- */

LC_INLINE bool act_is_q8_1(lc_qk_type t) { return t == LC_QK_Q4_1 || t == LC_QK_Q5_1; }

LC_INLINE size_t wblock_bytes(lc_qk_type t) {
    switch (t) {
    case LC_QK_Q4_0: return sizeof(lc_blk_q4_0);
    case LC_QK_Q4_1: return sizeof(lc_blk_q4_1);
    case LC_QK_Q5_0: return sizeof(lc_blk_q5_0);
    case LC_QK_Q5_1: return sizeof(lc_blk_q5_1);
    case LC_QK_Q8_0: return sizeof(lc_block_q8_0);
    case LC_QK_IQ4_NL: return sizeof(lc_blk_iq4_nl);
    case LC_QK_MXFP4: return sizeof(lc_blk_mxfp4);
    case LC_QK_Q2_K: return sizeof(lc_blk_q2_K);
    case LC_QK_Q3_K: return sizeof(lc_blk_q3_K);
    case LC_QK_Q4_K: return sizeof(lc_blk_q4_K);
    case LC_QK_Q5_K: return sizeof(lc_blk_q5_K);
    case LC_QK_Q6_K: return sizeof(lc_blk_q6_K);
    default: return sizeof(lc_blk_iq4_xs);
    }
}

/* One decoded 32-element block: the weights as int8 (signed types) or uint8
 * (Q4_1, Q5_1), its scale and (Q4_1, Q5_1) min. */
typedef struct {
    __m256i q;
    float d, m;
} lblock;

/* raw: Q4_0 / Q5_0 as their unsigned codes (without the -8 / -16 offset). */
LC_INLINE lblock decode32(lc_qk_type t, const char *blk, bool raw) {
    lblock k;
    k.m = 0.0f;
    switch (t) {
    case LC_QK_Q4_0: {
        const lc_blk_q4_0 *x = (const lc_blk_q4_0 *)blk;
        k.q = raw ? nib32(x->qs) : _mm256_sub_epi8(nib32(x->qs), _mm256_set1_epi8(8));
        k.d = f16(x->d);
        break;
    }
    case LC_QK_Q4_1: {
        const lc_blk_q4_1 *x = (const lc_blk_q4_1 *)blk;
        k.q = nib32(x->qs);
        k.d = f16(x->d);
        k.m = f16(x->m);
        break;
    }
    case LC_QK_Q5_0: {
        const lc_blk_q5_0 *x = (const lc_blk_q5_0 *)blk;
        __m256i q = _mm256_or_si256(nib32(x->qs), _mm256_and_si256(bits32(x->qh), _mm256_set1_epi8(0x10)));
        k.q = raw ? q : _mm256_sub_epi8(q, _mm256_set1_epi8(16));
        k.d = f16(x->d);
        break;
    }
    case LC_QK_Q5_1: {
        const lc_blk_q5_1 *x = (const lc_blk_q5_1 *)blk;
        k.q = _mm256_or_si256(nib32(x->qs), _mm256_and_si256(bits32(x->qh), _mm256_set1_epi8(0x10)));
        k.d = f16(x->d);
        k.m = f16(x->m);
        break;
    }
    case LC_QK_Q8_0: {
        const lc_block_q8_0 *x = (const lc_block_q8_0 *)blk;
        k.q = _mm256_loadu_si256((const __m256i *)x->qs);
        k.d = f16(x->d);
        break;
    }
    case LC_QK_IQ4_NL: {
        const lc_blk_iq4_nl *x = (const lc_blk_iq4_nl *)blk;
        k.q = _mm256_shuffle_epi8(table16(lc_qk_kvalues_iq4nl), nib32(x->qs));
        k.d = f16(x->d);
        break;
    }
    default: { /* MXFP4 */
        const lc_blk_mxfp4 *x = (const lc_blk_mxfp4 *)blk;
        k.q = _mm256_shuffle_epi8(table16(lc_qk_kvalues_mxfp4), nib32(x->qs));
        k.d = lc_qk_e8m0_half(x->e);
        break;
    }
    }
    return k;
}

/* One block at a time over blocks b0 .. nb - 1, added to part. */
LC_INLINE void tile32_tail(lc_qk_type t, int R, int T, const char *w, size_t ws, const char *a, size_t as,
                           int64_t b0, int64_t nb, float part[TR][TT]) {
    const bool q81 = act_is_q8_1(t);
    const size_t wb = wblock_bytes(t), ab = q81 ? sizeof(lc_blk_q8_1) : sizeof(lc_block_q8_0);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[TR][TT];
    float macc[TR][TT];
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) {
            acc[r][j] = _mm256_setzero_ps();
            macc[r][j] = 0.0f;
        }
    for (int64_t b = b0; b < nb; b++) {
        __m256i q[TR], qa[TR];
        __m256 dw[TR];
        float mw[TR];
        UNROLL
        for (int r = 0; r < R; r++) {
            const char *blk = w + (size_t)r * ws + (size_t)b * wb;
            lblock k = decode32(t, blk, false);
            q[r] = k.q;
            qa[r] = q81 ? k.q : _mm256_abs_epi8(k.q);
            dw[r] = _mm256_set1_ps(k.d);
            mw[r] = k.m;
        }
        UNROLL
        for (int j = 0; j < T; j++) {
            const char *blk = a + (size_t)j * as + (size_t)b * ab;
            __m256i av;
            __m256 da;
            float sa = 0.0f;
            if (q81) {
                const lc_blk_q8_1 *y = (const lc_blk_q8_1 *)blk;
                av = _mm256_loadu_si256((const __m256i *)y->qs);
                da = _mm256_set1_ps(f16(y->d));
                sa = f16(y->s);
            } else {
                const lc_block_q8_0 *y = (const lc_block_q8_0 *)blk;
                av = _mm256_loadu_si256((const __m256i *)y->qs);
                da = _mm256_set1_ps(f16(y->d));
            }
            UNROLL
            for (int r = 0; r < R; r++) {
                __m256i p = q81 ? _mm256_maddubs_epi16(q[r], av)
                                : _mm256_maddubs_epi16(qa[r], _mm256_sign_epi8(av, q[r]));
                __m256 f = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
                acc[r][j] = _mm256_fmadd_ps(f, _mm256_mul_ps(dw[r], da), acc[r][j]);
                if (q81) macc[r][j] += mw[r] * sa;
            }
        }
    }
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) part[r][j] += hsum8(acc[r][j]) + macc[r][j];
}

LC_INLINE uint16_t ld16(const char *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h;
}

/* The f16 at p, p + stride, ..., p + 7 stride as 8 floats. */
LC_INLINE __m256 gather_f16(const char *p, size_t stride) {
    __m128i v = _mm_cvtsi32_si128(ld16(p));
    v = _mm_insert_epi16(v, ld16(p + 1 * stride), 1);
    v = _mm_insert_epi16(v, ld16(p + 2 * stride), 2);
    v = _mm_insert_epi16(v, ld16(p + 3 * stride), 3);
    v = _mm_insert_epi16(v, ld16(p + 4 * stride), 4);
    v = _mm_insert_epi16(v, ld16(p + 5 * stride), 5);
    v = _mm_insert_epi16(v, ld16(p + 6 * stride), 6);
    v = _mm_insert_epi16(v, ld16(p + 7 * stride), 7);
    return _mm256_cvtph_ps(v);
}

/* The weight scales of 8 consecutive blocks. */
LC_INLINE __m256 gather_dw(lc_qk_type t, const char *blk, size_t wb) {
    if (t == LC_QK_MXFP4) {
        /* 2^(e - 128) from the 8 exponents, as lc_qk_e8m0_half */
        __m256i e = _mm256_setr_epi32((uint8_t)blk[0], (uint8_t)blk[wb], (uint8_t)blk[2 * wb], (uint8_t)blk[3 * wb],
                                      (uint8_t)blk[4 * wb], (uint8_t)blk[5 * wb], (uint8_t)blk[6 * wb],
                                      (uint8_t)blk[7 * wb]);
        __m256i small = _mm256_cmpgt_epi32(_mm256_set1_epi32(2), e);
        __m256i norm = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23);
        __m256i sub = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), e);
        return _mm256_castsi256_ps(_mm256_blendv_epi8(norm, sub, small));
    }
    return gather_f16(blk, wb); /* d is the first field of every 32-element block */
}

/* 8 vectors of 8 int32 -> one vector whose lane k is the sum of v[k]. */
LC_INLINE __m256i reduce8(const __m256i v[8]) {
    __m256i h01 = _mm256_hadd_epi32(v[0], v[1]), h23 = _mm256_hadd_epi32(v[2], v[3]);
    __m256i h45 = _mm256_hadd_epi32(v[4], v[5]), h67 = _mm256_hadd_epi32(v[6], v[7]);
    __m256i lo = _mm256_hadd_epi32(h01, h23), hi = _mm256_hadd_epi32(h45, h67);
    return _mm256_add_epi32(_mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31));
}

/* 32-element types, in groups of 8 blocks: the weights of a group are
 * decoded once into wq (and |w| into wa), the 8 int32 block sums of a
 * (row, token) pair are reduced into one vector (lane k = block k) and
 * scaled by 8 products dw dw at once; the blocks past the last whole group
 * take tile32_tail's one-block steps. */
LC_INLINE void tile32(lc_qk_type t, int R, int T, const char *w, size_t ws, const char *a, size_t as, int64_t nb,
                      float *out, size_t ldo) {
    const bool q81 = act_is_q8_1(t);
    const size_t wb = wblock_bytes(t), ab = q81 ? sizeof(lc_blk_q8_1) : sizeof(lc_block_q8_0);
    const size_t aq = q81 ? offsetof(lc_blk_q8_1, qs) : offsetof(lc_block_q8_0, qs);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[TR][TT], macc[TR][TT];
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) acc[r][j] = macc[r][j] = _mm256_setzero_ps();
    /* Q4_0 / Q5_0 take their unsigned codes u = q + off (no |w|, no sign per
     * pair) and subtract off * sum(a) per block, one vector per token group */
    const int off = t == LC_QK_Q4_0 ? 8 : t == LC_QK_Q5_0 ? 16 : 0;
    const bool uns = q81 || off > 0;
    const int64_t ng = nb / 8;
    for (int64_t g = 0; g < ng; g++) {
        __m256i wq[TR][8], wa[TR][8];
        __m256 dw[TR], mw[TR];
        UNROLL
        for (int r = 0; r < R; r++) {
            const char *blk = w + (size_t)r * ws + (size_t)g * 8 * wb;
            if (T == 1) pf_span(blk, 8 * wb);
            UNROLL
            for (int k = 0; k < 8; k++) {
                lblock d = decode32(t, blk + (size_t)k * wb, true);
                wq[r][k] = d.q;
                wa[r][k] = uns ? d.q : _mm256_abs_epi8(d.q);
            }
            dw[r] = gather_dw(t, blk, wb);
            mw[r] = q81 ? gather_f16(blk + 2, wb) : _mm256_setzero_ps();
        }
        UNROLL
        for (int j = 0; j < T; j++) {
            const char *ablk = a + (size_t)j * as + (size_t)g * 8 * ab;
            const __m256 da = gather_f16(ablk, ab);
            const __m256 sa = q81 ? gather_f16(ablk + 2, ab) : _mm256_setzero_ps();
            __m256i aoff = _mm256_setzero_si256();
            if (off > 0) {
                __m256i s8[8];
                UNROLL
                for (int k = 0; k < 8; k++)
                    s8[k] = _mm256_madd_epi16(
                        _mm256_maddubs_epi16(_mm256_set1_epi8(1),
                                             _mm256_loadu_si256((const __m256i *)(ablk + (size_t)k * ab + aq))),
                        ones);
                aoff = _mm256_mullo_epi32(reduce8(s8), _mm256_set1_epi32(off));
            }
            UNROLL
            for (int r = 0; r < R; r++) {
                __m256i v[8];
                UNROLL
                for (int k = 0; k < 8; k++) {
                    __m256i av = _mm256_loadu_si256((const __m256i *)(ablk + (size_t)k * ab + aq));
                    __m256i p = uns ? _mm256_maddubs_epi16(wa[r][k], av)
                                    : _mm256_maddubs_epi16(wa[r][k], _mm256_sign_epi8(av, wq[r][k]));
                    v[k] = _mm256_madd_epi16(p, ones);
                }
                __m256i iv = reduce8(v);
                if (off > 0) iv = _mm256_sub_epi32(iv, aoff);
                acc[r][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iv), _mm256_mul_ps(dw[r], da), acc[r][j]);
                if (q81) macc[r][j] = _mm256_fmadd_ps(mw[r], sa, macc[r][j]);
            }
        }
    }
    float part[TR][TT];
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) part[r][j] = hsum8(_mm256_add_ps(acc[r][j], macc[r][j]));
    tile32_tail(t, R, T, w, ws, a, as, ng * 8, nb, part);
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) out[(size_t)j * ldo + (size_t)r] = part[r][j];
}

/* ---- 256-element super-blocks ------------------------------------------- */

/* The per-row, per-super-block part of a K type: d, dmin, the sub-block
 * scales as int8 (16 of 16 elements, or 8 of 32), an int16 x 16 correction
 * to subtract as madd(corr, bsums) from the int32 sums (Q3_K: 4 sc, Q6_K:
 * 32 sc) and the mins as int16 x 16 per 16-element activation sum. */
typedef struct {
    __m128i s8;
    __m256i corr, mins;
    float d, dmin;
} khead;

LC_INLINE bool k_has_corr(lc_qk_type t) { return t == LC_QK_Q3_K || t == LC_QK_Q6_K; }
LC_INLINE bool k_has_mins(lc_qk_type t) { return t == LC_QK_Q2_K || t == LC_QK_Q4_K || t == LC_QK_Q5_K; }
/* 16 scales of 16 elements (else 8 of 32). */
LC_INLINE bool k_scales16(lc_qk_type t) { return t == LC_QK_Q2_K || t == LC_QK_Q3_K || t == LC_QK_Q6_K; }

/* Q4_K / Q5_K: 12 bytes of packed 6-bit scales and mins -> bytes 0..7 the
 * scales, bytes 8..15 the mins (the bit layout of lc_qk_q4k_scale_min). */
LC_INLINE __m128i q4k_unpack(const uint8_t *p) {
    uint32_t u[3], o[4];
    memcpy(u, p, 12);
    o[0] = u[0] & 0x3f3f3f3fu;
    o[1] = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    o[2] = u[1] & 0x3f3f3f3fu;
    o[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    return _mm_loadu_si128((const __m128i *)o);
}

/* Q3_K: 12 bytes -> 16 unsigned 6-bit scales (lc_qk_q3k_scales before -32). */
LC_INLINE __m128i q3k_unpack(const uint8_t *p) {
    uint32_t u[3], o[4];
    memcpy(u, p, 12);
    o[0] = (u[0] & 0x0f0f0f0fu) | ((u[2] & 0x03030303u) << 4);
    o[1] = (u[1] & 0x0f0f0f0fu) | (((u[2] >> 2) & 0x03030303u) << 4);
    o[2] = ((u[0] >> 4) & 0x0f0f0f0fu) | (((u[2] >> 4) & 0x03030303u) << 4);
    o[3] = ((u[1] >> 4) & 0x0f0f0f0fu) | (((u[2] >> 6) & 0x03030303u) << 4);
    return _mm_loadu_si128((const __m128i *)o);
}

LC_INLINE khead khead_decode(lc_qk_type t, const char *blk) {
    khead h;
    h.corr = h.mins = _mm256_setzero_si256();
    h.dmin = 0.0f;
    switch (t) {
    case LC_QK_Q2_K: {
        const lc_blk_q2_K *x = (const lc_blk_q2_K *)blk;
        __m128i raw = _mm_loadu_si128((const __m128i *)x->scales);
        h.s8 = _mm_and_si128(raw, _mm_set1_epi8(0x0F));
        h.mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0F)));
        h.d = f16(x->d);
        h.dmin = f16(x->dmin);
        break;
    }
    case LC_QK_Q3_K: {
        const lc_blk_q3_K *x = (const lc_blk_q3_K *)blk;
        h.s8 = _mm_sub_epi8(q3k_unpack(x->scales), _mm_set1_epi8(32));
        h.corr = _mm256_slli_epi16(_mm256_cvtepi8_epi16(h.s8), 2);
        h.d = f16(x->d);
        break;
    }
    case LC_QK_Q4_K:
    case LC_QK_Q5_K: {
        const uint8_t *scales;
        uint16_t d, dmin;
        if (t == LC_QK_Q4_K) {
            const lc_blk_q4_K *x = (const lc_blk_q4_K *)blk;
            scales = x->scales, d = x->d, dmin = x->dmin;
        } else {
            const lc_blk_q5_K *x = (const lc_blk_q5_K *)blk;
            scales = x->scales, d = x->d, dmin = x->dmin;
        }
        __m128i sm = q4k_unpack(scales);
        h.s8 = sm;
        /* mins 8..15 -> each twice, one per 16-element activation sum */
        __m128i dup = _mm_shuffle_epi8(sm, _mm_set_epi8(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8));
        h.mins = _mm256_cvtepu8_epi16(dup);
        h.d = f16(d);
        h.dmin = f16(dmin);
        break;
    }
    case LC_QK_Q6_K: {
        const lc_blk_q6_K *x = (const lc_blk_q6_K *)blk;
        h.s8 = _mm_loadu_si128((const __m128i *)x->scales);
        h.corr = _mm256_slli_epi16(_mm256_cvtepi8_epi16(h.s8), 5);
        h.d = f16(x->d);
        break;
    }
    default: { /* IQ4_XS */
        const lc_blk_iq4_xs *x = (const lc_blk_iq4_xs *)blk;
        uint64_t s = 0;
        for (int j = 0; j < 8; j++) {
            int ls = ((x->scales_l[j / 2] >> (4 * (j % 2))) & 0xF) | (((x->scales_h >> (2 * j)) & 3) << 4);
            s |= (uint64_t)(uint8_t)(ls - 32) << (8 * j);
        }
        h.s8 = _mm_cvtsi64_si128((long long)s);
        h.d = f16(x->d);
        break;
    }
    }
    return h;
}

/* The int16 x 16 scale vector of chunk c (elements 32c .. 32c + 31): lanes
 * 0..7 multiply elements 0..15 of the chunk, lanes 8..15 elements 16..31. */
LC_INLINE __m256i kscale(lc_qk_type t, __m128i s8, int c) {
    __m128i idx = k_scales16(t) ? _mm_set_epi64x(0x0101010101010101LL * (2 * c + 1), 0x0101010101010101LL * (2 * c))
                                : _mm_set1_epi8((char)c);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s8, idx));
}

/* The 32 weights of chunk c as uint8 (signed int8 for IQ4_XS). */
LC_INLINE __m256i kchunk(lc_qk_type t, const char *blk, int c) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3), m1 = _mm256_set1_epi8(1);
    const int h = c / 4, k = c % 4;
    switch (t) {
    case LC_QK_Q2_K: {
        const lc_blk_q2_K *x = (const lc_blk_q2_K *)blk;
        __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
        return _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), m2);
    }
    case LC_QK_Q3_K: {
        const lc_blk_q3_K *x = (const lc_blk_q3_K *)blk;
        __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
        __m256i hm = _mm256_loadu_si256((const __m256i *)x->hmask);
        __m256i lo = _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), m2);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + k), m1);
        return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 2));
    }
    case LC_QK_Q4_K: {
        const lc_blk_q4_K *x = (const lc_blk_q4_K *)blk;
        __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * (c / 2)));
        return _mm256_and_si256(c & 1 ? _mm256_srli_epi16(v, 4) : v, m4);
    }
    case LC_QK_Q5_K: {
        const lc_blk_q5_K *x = (const lc_blk_q5_K *)blk;
        __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * (c / 2)));
        __m256i hb = _mm256_loadu_si256((const __m256i *)x->qh);
        __m256i lo = _mm256_and_si256(c & 1 ? _mm256_srli_epi16(v, 4) : v, m4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hb, c), m1);
        return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
    }
    case LC_QK_Q6_K: {
        const lc_blk_q6_K *x = (const lc_blk_q6_K *)blk;
        __m256i ql = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32 * (k % 2)));
        __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
        __m256i lo = _mm256_and_si256(k < 2 ? ql : _mm256_srli_epi16(ql, 4), m4);
        /* bits 2k, 2k + 1 of qh moved to bits 4, 5: one shift and one mask */
        __m256i hs = k == 0 ? _mm256_slli_epi16(qh, 4) : k == 1 ? _mm256_slli_epi16(qh, 2) : k == 2 ? qh
                                                                                                  : _mm256_srli_epi16(qh, 2);
        return _mm256_or_si256(lo, _mm256_and_si256(hs, _mm256_set1_epi8(0x30)));
    }
    default: { /* IQ4_XS */
        const lc_blk_iq4_xs *x = (const lc_blk_iq4_xs *)blk;
        return _mm256_shuffle_epi8(table16(lc_qk_kvalues_iq4nl), nib32(x->qs + 16 * c));
    }
    }
}

LC_INLINE void tilek(lc_qk_type t, int R, int T, const char *w, size_t ws, const char *a, size_t as, int64_t nb,
                     float *out, size_t ldo) {
    const size_t wb = wblock_bytes(t);
    const bool sgn = t == LC_QK_IQ4_XS;
    __m256 acc[TR][TT];
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) acc[r][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const char *wblk[TR];
        const lc_blk_q8_K *ablk[TT];
        khead hd[TR];
        UNROLL
        for (int r = 0; r < R; r++) {
            wblk[r] = w + (size_t)r * ws + (size_t)b * wb;
            if (T == 1) pf_span(wblk[r], wb);
            hd[r] = khead_decode(t, wblk[r]);
        }
        UNROLL
        for (int j = 0; j < T; j++) ablk[j] = (const lc_blk_q8_K *)(a + (size_t)j * as) + b;
        __m256i isum[TR][TT];
        UNROLL
        for (int r = 0; r < R; r++)
            UNROLL
            for (int j = 0; j < T; j++) isum[r][j] = _mm256_setzero_si256();
        UNROLL
        for (int c = 0; c < 8; c++) {
            __m256i q[TR], qa[TR], sc[TR];
            UNROLL
            for (int r = 0; r < R; r++) {
                q[r] = kchunk(t, wblk[r], c);
                qa[r] = sgn ? _mm256_abs_epi8(q[r]) : q[r];
                sc[r] = kscale(t, hd[r].s8, c);
            }
            UNROLL
            for (int j = 0; j < T; j++) {
                __m256i av = _mm256_loadu_si256((const __m256i *)(ablk[j]->qs + 32 * c));
                UNROLL
                for (int r = 0; r < R; r++) {
                    __m256i p = _mm256_maddubs_epi16(qa[r], sgn ? _mm256_sign_epi8(av, q[r]) : av);
                    isum[r][j] = _mm256_add_epi32(isum[r][j], _mm256_madd_epi16(p, sc[r]));
                }
            }
        }
        UNROLL
        for (int j = 0; j < T; j++) {
            __m256i bs = _mm256_loadu_si256((const __m256i *)ablk[j]->bsums);
            __m256 da = _mm256_set1_ps(ablk[j]->d);
            UNROLL
            for (int r = 0; r < R; r++) {
                __m256i is = isum[r][j];
                if (k_has_corr(t)) is = _mm256_sub_epi32(is, _mm256_madd_epi16(hd[r].corr, bs));
                acc[r][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(_mm256_set1_ps(hd[r].d), da),
                                            acc[r][j]);
                if (k_has_mins(t))
                    acc[r][j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(hd[r].mins, bs)),
                                                 _mm256_mul_ps(_mm256_set1_ps(hd[r].dmin), da), acc[r][j]);
            }
        }
    }
    UNROLL
    for (int r = 0; r < R; r++)
        UNROLL
        for (int j = 0; j < T; j++) out[(size_t)j * ldo + (size_t)r] = hsum8(acc[r][j]);
}

/* ---- Instantiation --------------------------------------------------------- */

typedef void (*tile_part_fn)(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *out, size_t ldo);

/* Cover an nr x nt tile with TR x TT parts and 1-wide edges. */
static void tile_drive(tile_part_fn full, tile_part_fn rows1, tile_part_fn tok1, tile_part_fn one, const char *w,
                       size_t ws, int nr, const char *a, size_t as, int nt, int64_t nb, float *out, size_t ldo) {
    int r = 0;
    for (; r + TR <= nr; r += TR) {
        int j = 0;
        for (; j + TT <= nt; j += TT) full(w + (size_t)r * ws, ws, a + (size_t)j * as, as, nb, out + (size_t)j * ldo + r, ldo);
        for (; j < nt; j++) tok1(w + (size_t)r * ws, ws, a + (size_t)j * as, as, nb, out + (size_t)j * ldo + r, ldo);
    }
    for (; r < nr; r++) {
        int j = 0;
        for (; j + TT <= nt; j += TT) rows1(w + (size_t)r * ws, ws, a + (size_t)j * as, as, nb, out + (size_t)j * ldo + r, ldo);
        for (; j < nt; j++) one(w + (size_t)r * ws, ws, a + (size_t)j * as, as, nb, out + (size_t)j * ldo + r, ldo);
    }
}

/* For type TYPE (family FAM = tile32 or tilek, BLK elements per block):
 * the four tile shapes, the tile entry and the 1 x 1 dot. */
#define LC_QK_KERNELS(NAME, TYPE, FAM, BLK)                                                                         \
    static void NAME##_full(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *o, size_t ldo) { \
        FAM(TYPE, TR, TT, w, ws, a, as, nb, o, ldo);                                                                 \
    }                                                                                                              \
    static void NAME##_r1(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *o, size_t ldo) {   \
        FAM(TYPE, 1, TT, w, ws, a, as, nb, o, ldo);                                                                  \
    }                                                                                                              \
    static void NAME##_t1(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *o, size_t ldo) {   \
        FAM(TYPE, TR, 1, w, ws, a, as, nb, o, ldo);                                                                  \
    }                                                                                                              \
    static void NAME##_11(const char *w, size_t ws, const char *a, size_t as, int64_t nb, float *o, size_t ldo) {   \
        FAM(TYPE, 1, 1, w, ws, a, as, nb, o, ldo);                                                                   \
    }                                                                                                              \
    static void NAME##_tile(const void *w, size_t ws, int nr, const void *a, size_t as, int nt, int64_t n,         \
                            float *out, size_t ldo) {                                                              \
        tile_drive(NAME##_full, NAME##_r1, NAME##_t1, NAME##_11, (const char *)w, ws, nr, (const char *)a, as, nt, \
                   n / (BLK), out, ldo);                                                                           \
    }                                                                                                              \
    static float NAME##_dot(const void *w, const void *a, int64_t n) {                                             \
        float o;                                                                                                   \
        FAM(TYPE, 1, 1, (const char *)w, 0, (const char *)a, 0, n / (BLK), &o, 0);                                  \
        return o;                                                                                                  \
    }

LC_QK_KERNELS(q4_0, LC_QK_Q4_0, tile32, 32)
LC_QK_KERNELS(q4_1, LC_QK_Q4_1, tile32, 32)
LC_QK_KERNELS(q5_0, LC_QK_Q5_0, tile32, 32)
LC_QK_KERNELS(q5_1, LC_QK_Q5_1, tile32, 32)
LC_QK_KERNELS(q8_0, LC_QK_Q8_0, tile32, 32)
LC_QK_KERNELS(iq4_nl, LC_QK_IQ4_NL, tile32, 32)
LC_QK_KERNELS(mxfp4, LC_QK_MXFP4, tile32, 32)
LC_QK_KERNELS(q2_K, LC_QK_Q2_K, tilek, 256)
LC_QK_KERNELS(q3_K, LC_QK_Q3_K, tilek, 256)
LC_QK_KERNELS(q4_K, LC_QK_Q4_K, tilek, 256)
LC_QK_KERNELS(q5_K, LC_QK_Q5_K, tilek, 256)
LC_QK_KERNELS(q6_K, LC_QK_Q6_K, tilek, 256)
LC_QK_KERNELS(iq4_xs, LC_QK_IQ4_XS, tilek, 256)

static const lc_qdot_fn g_dot[LC_QK_COUNT] = {
    [LC_QK_Q4_0] = q4_0_dot,     [LC_QK_Q4_1] = q4_1_dot,     [LC_QK_Q5_0] = q5_0_dot, [LC_QK_Q5_1] = q5_1_dot,
    [LC_QK_Q8_0] = q8_0_dot,     [LC_QK_Q2_K] = q2_K_dot,     [LC_QK_Q3_K] = q3_K_dot, [LC_QK_Q4_K] = q4_K_dot,
    [LC_QK_Q5_K] = q5_K_dot,     [LC_QK_Q6_K] = q6_K_dot,     [LC_QK_IQ4_NL] = iq4_nl_dot,
    [LC_QK_IQ4_XS] = iq4_xs_dot, [LC_QK_MXFP4] = mxfp4_dot,
};

static const lc_qtile_fn g_tile[LC_QK_COUNT] = {
    [LC_QK_Q4_0] = q4_0_tile,     [LC_QK_Q4_1] = q4_1_tile,     [LC_QK_Q5_0] = q5_0_tile, [LC_QK_Q5_1] = q5_1_tile,
    [LC_QK_Q8_0] = q8_0_tile,     [LC_QK_Q2_K] = q2_K_tile,     [LC_QK_Q3_K] = q3_K_tile, [LC_QK_Q4_K] = q4_K_tile,
    [LC_QK_Q5_K] = q5_K_tile,     [LC_QK_Q6_K] = q6_K_tile,     [LC_QK_IQ4_NL] = iq4_nl_tile,
    [LC_QK_IQ4_XS] = iq4_xs_tile, [LC_QK_MXFP4] = mxfp4_tile,
};

lc_qdot_fn lc_qdot_avx2(lc_qk_type t) { return (unsigned)t < LC_QK_COUNT ? g_dot[t] : NULL; }
lc_qtile_fn lc_qtile_avx2(lc_qk_type t) { return (unsigned)t < LC_QK_COUNT ? g_tile[t] : NULL; }
